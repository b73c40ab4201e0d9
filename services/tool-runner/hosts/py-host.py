# Runs one Python tool function in this child process. The request arrives as JSON on stdin; the
# outcome leaves as JSON on file descriptor 3, so the tool's own prints cannot corrupt it.
import importlib.util
import json
import os
import sys


def send(outcome):
    try:
        text = json.dumps(outcome, allow_nan=False)
    except (TypeError, ValueError) as error:
        text = json.dumps({"ok": False, "error": {"code": "invalid_result", "message": f"tool result is not JSON: {error}"}})
    with os.fdopen(3, "w") as out:
        out.write(text)


def main():
    request = json.load(sys.stdin)
    folder = os.path.dirname(request["file"])
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(request["file"]))[0], request["file"])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - any failure to load is reported to the agent
        send({"ok": False, "error": {"code": "tool_load_failed", "message": f"could not load {request['display']}: {error}"}})
        return
    fn = getattr(module, request["function"], None)
    if not callable(fn):
        send({"ok": False, "error": {"code": "tool_not_found", "message": f"{request['display']} defines no function \"{request['function']}\""}})
        return
    try:
        result = fn(**request["args"])
        if hasattr(result, "__await__"):
            import asyncio
            result = asyncio.run(result)
    except BaseException as error:  # noqa: BLE001
        send({"ok": False, "error": {"code": "tool_failed", "message": f"{type(error).__name__}: {error}"[:2000]}})
        return
    send({"ok": True, "result": result})


main()
