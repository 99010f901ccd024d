"""FIT-Connect's Routing API (``/routes``, ``/areas``, ``/info``) from Amtsweg's directory.

Mounted at :data:`~services.fitconnect.routing_api.http.PREFIX`, the spec's server base
``/v1/`` under ``/fit-connect/routing``. It answers which authority is competent for a
service (LeiKa key) in an area, with the authority's FIT-Connect destination id, its
contact data and a destination signature by Amtsweg, and finds areas by name or postal
code; it is also the backend of a portal's office finder ("Beratungsstellenfinder").
The directory and the signing key come through :mod:`.ports`.
"""
