"""Tools of the welcome workflow, written as for the Python runtime."""
from typing import Annotated, Any, Dict, Optional


def remember_name(
    name: Annotated[str, "The user's name, as they gave it"],
    context_variables: Optional[Any] = None,
) -> Dict[str, Any]:
    """Remember the user's name for the rest of the chat."""
    cleaned = name.strip()
    if context_variables is not None:
        context_variables.set("user_name", cleaned)
    return {"status": "remembered", "name": cleaned}
