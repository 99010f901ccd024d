"""What the HTTP app does for every route: security headers on responses, the header size
limit and the API docs page."""
