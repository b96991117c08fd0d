"""The HTTP API: create_app() and its lifespan, dependencies, schemas, routes, the web page."""
