"""The dashboard's pages, one module per capability (catalog, contacts, ...); urls.py names each view."""
