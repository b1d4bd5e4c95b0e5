"""The staff dashboard: a server-rendered web app (Starlette, Jinja2, a little plain JS)."""
