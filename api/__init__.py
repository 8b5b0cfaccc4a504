"""The HTTP service: conversations, human handoff, keys, knowledge routes and signed webhooks.

Entry point: `api.app.create_app(settings) -> FastAPI`. The only package that knows HTTP.
"""
