"""The benchmark's tool: small enough that the figures show the runner's cost, not the tool's."""


def add(a: float, b: float) -> dict:
    return {"sum": a + b}
