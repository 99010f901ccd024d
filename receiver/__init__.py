"""The reference receiver: how a receiving authority's Fachverfahren connects to Amtsweg.

It reads the authority's delivery topic, dedupes by delivery id, decrypts, fetches
referenced parts, checks every SHA-512, writes each application to a folder (or hands it
to a command) and sends the receipt. It uses only the public contract (``contracts``),
so it is also a readable example for authorities that write their own.
"""
