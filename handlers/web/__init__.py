"""The web desk: one more room over the same core (Starlette, Jinja2 pages, htmx shipped here), and the one HTTP
server of ``doithoai run`` that also carries the channels' webhooks and /healthz."""
