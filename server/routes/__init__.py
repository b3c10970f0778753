"""Route families of the LangGraph Server API."""
