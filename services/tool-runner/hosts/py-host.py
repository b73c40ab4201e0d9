# A warm worker for a workflow's Python tools: calls arrive one at a time as JSON lines on file
# descriptor 3 and their outcomes leave as JSON lines on descriptor 4, so a tool's prints (stdout,
# stderr) can never corrupt a result. Before any tool code loads, the interpreter is restricted:
# memory is capped, and an audit hook refuses new processes, signals to other processes, native
# code loading, writes, and reads outside the workflow folder and Python's own library.
import json
import os
import resource
import sys

READABLE_SYSTEM_PATHS = (
    "/dev/null", "/dev/urandom", "/dev/random", "/etc/ssl", "/etc/pki", "/etc/ca-certificates",
    "/usr/share/ca-certificates", "/usr/share/zoneinfo", "/etc/localtime", "/etc/mime.types",
    "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/services", "/etc/protocols",
)
REFUSED = {
    "subprocess.Popen": "start processes", "os.system": "start processes", "os.exec": "start processes",
    "os.posix_spawn": "start processes", "os.spawn": "start processes", "os.fork": "start processes",
    "os.forkpty": "start processes", "os.startfile": "start processes", "ctypes.dlopen": "load native libraries",
    "ctypes.dlsym": "load native libraries", "ctypes.cdata": "read raw memory", "os.killpg": "signal other processes",
    "os.remove": "change files", "os.rename": "change files", "os.mkdir": "change files", "os.rmdir": "change files",
    "os.symlink": "change files", "os.link": "change files", "os.truncate": "change files", "os.chmod": "change files",
    "os.chown": "change files", "os.utime": "change files", "os.chflags": "change files", "os.setxattr": "change files",
    "os.removexattr": "change files", "shutil.rmtree": "change files", "shutil.move": "change files",
    "shutil.copyfile": "change files", "resource.setrlimit": "change their limits", "resource.prlimit": "change their limits",
}
PATH_EVENTS = {"os.listdir", "os.scandir", "os.chdir", "glob.glob", "os.walk"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class ToolPermissionError(PermissionError):
    """A tool tried something the sandbox does not allow."""


def restrict(workflow_dir, memory_bytes):
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    readable = [os.path.realpath(workflow_dir)]
    readable += [os.path.realpath(p) for p in sys.path if p]
    readable += [os.path.realpath(p) for p in READABLE_SYSTEM_PATHS]
    own_pid = os.getpid()

    def inside(path):
        if isinstance(path, int):
            return path in (1, 2)
        try:
            full = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return any(full == root or full.startswith(root.rstrip("/") + "/") for root in readable)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or bool((flags or 0) & WRITE_FLAGS)
            if path is None:
                return
            if writing and path not in (1, 2):
                raise ToolPermissionError(f"tools may not write files ({path})")
            if not inside(path):
                raise ToolPermissionError(f"tools may not read {path}: it is outside the workflow folder")
        elif event in PATH_EVENTS:
            if args and args[0] is not None and not inside(args[0]):
                raise ToolPermissionError(f"tools may not list or enter {args[0]}: it is outside the workflow folder")
        elif event == "os.kill" or event == "signal.pthread_kill":
            if event == "os.kill" and args[0] in (own_pid, 0):
                return
            raise ToolPermissionError("tools may not signal other processes")
        elif event == "import" and args[0] in ("_posixsubprocess", "_ctypes"):
            raise ToolPermissionError(f"tools may not import {args[0]}")
        elif event in REFUSED:
            raise ToolPermissionError(f"tools may not {REFUSED[event]} ({event})")

    # Processes are refused below the subprocess module too: its C helper is replaced before any
    # tool runs, and importing it afresh is refused by the hook.
    import _posixsubprocess

    def no_fork_exec(*_args, **_kwargs):
        raise ToolPermissionError("tools may not start processes")

    _posixsubprocess.fork_exec = no_fork_exec
    sys.addaudithook(hook)


class ContextVariables:
    """The chat's context variables as a tool with a `context_variables` parameter sees them (the
    AG2 container's methods, and a dict's); what it sets is kept with the chat after the call."""

    def __init__(self, data):
        self._data = dict(data)
        self.updates = {}

    def get(self, key, default=None):
        return self._data.get(key, default)

    def set(self, key, value):
        self._data[key] = value
        self.updates[key] = value

    def update(self, values=None, **more):
        for key, value in {**(values or {}), **more}.items():
            self.set(key, value)

    def remove(self, key):
        present = key in self._data
        if present:
            self.set(key, None)
            del self._data[key]
        return present

    def contains(self, key):
        return key in self._data

    def keys(self):
        return self._data.keys()

    def items(self):
        return self._data.items()

    def to_dict(self):
        return dict(self._data)

    @property
    def data(self):
        return dict(self._data)

    def __getitem__(self, key):
        return self._data[key]

    def __setitem__(self, key, value):
        self.set(key, value)

    def __contains__(self, key):
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


class AgentView:
    """An agent as a hook sees it (the parts of an AG2 agent hooks use): its name, its system
    message, which an update_agent_state hook may change, and the chat's context variables."""

    def __init__(self, view, context):
        self.name = view.get("name", "")
        self.system_message = view.get("system_message", "")
        self.context_variables = context
        self._context_variables = context

    def update_system_message(self, system_message):
        self.system_message = system_message


def settled(value):
    if hasattr(value, "__await__"):
        import asyncio

        return asyncio.run(value)
    return value


def hook_call(fn, hook, args, context):
    """Calls a hook the way AG2 does, with views of its agents; returns what the runtime uses."""
    if hook == "update_agent_state":
        agent = AgentView(args.get("agent") or {}, context)
        settled(fn(agent, list(args.get("messages") or [])))
        return {"system_message": agent.system_message}
    sender = AgentView(args.get("sender") or {}, context)
    recipient = AgentView(args.get("recipient") or {}, context)
    return {"message": settled(fn(sender, args.get("message"), recipient, bool(args.get("silent"))))}


def takes_context(fn):
    import inspect

    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "context_variables" in parameters


def describe(value):
    return f"{type(value).__name__}: {value}"[:2000]


def call(request, modules):
    file = request["file"]
    display = request["display"]
    module = modules.get(file)
    if module is None:
        import importlib.util

        try:
            name = os.path.splitext(os.path.basename(file))[0]
            # Registered under its own name, so sibling tool files import this same module; a
            # file named like a module already in use (json.py) gets a private name instead.
            taken = sys.modules.get(name)
            if taken is not None and os.path.realpath(getattr(taken, "__file__", "") or "") != file:
                name = f"_mozaiks_tool_{name}"
            spec = importlib.util.spec_from_file_location(name, file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        except MemoryError:
            return {"ok": False, "error": {"code": "memory_limit", "message": f"{display} ran out of memory while loading"}}
        except BaseException as error:  # noqa: BLE001 - any failure to load is the agent's to see
            return {"ok": False, "error": {"code": "tool_load_failed", "message": f"could not load {display}: {describe(error)}"}}
        modules[file] = module
    fn = getattr(module, request["function"], None)
    if not callable(fn):
        return {"ok": False, "error": {"code": "tool_not_found", "message": f"{display} defines no function \"{request['function']}\""}}
    context = None
    args = dict(request["args"])
    hook = request.get("hook")
    if hook is not None:
        context = ContextVariables(request.get("variables") or {})
    elif request.get("variables") is not None and takes_context(fn):
        context = ContextVariables(request["variables"])
        args["context_variables"] = context
    try:
        result = hook_call(fn, hook, args, context) if hook is not None else settled(fn(**args))
    except SystemExit as error:
        return {"ok": False, "error": {"code": "tool_exited", "message": f"{display} {request['function']} called sys.exit({error.code!r}) instead of returning"}}
    except MemoryError:
        return {"ok": False, "error": {"code": "memory_limit", "message": f"{display} {request['function']} ran out of memory"}}
    except ToolPermissionError as error:
        return {"ok": False, "error": {"code": "permission_denied", "message": f"{display} {request['function']}: {error}"}}
    except BaseException as error:  # noqa: BLE001 - the model sees the error and may recover
        return {"ok": False, "error": {"code": "tool_failed", "message": describe(error)}}
    if context is not None and context.updates:
        return {"ok": True, "result": result, "variables": context.updates}
    return {"ok": True, "result": result}


def encode(outcome, call_id):
    try:
        return json.dumps({"id": call_id, **outcome}, allow_nan=False)
    except (TypeError, ValueError) as error:
        return json.dumps({"id": call_id, "ok": False, "error": {"code": "invalid_result", "message": f"tool result is not JSON: {error}"}})
    except MemoryError:
        return json.dumps({"id": call_id, "ok": False, "error": {"code": "memory_limit", "message": "tool result too large to encode"}})


def main():
    settings = json.loads(sys.argv[1])
    requests = os.fdopen(3, "rb")
    replies = os.fdopen(4, "wb")
    workflow_dir = settings["workflow_dir"]
    # The interpreter's locale coercion adds LC_CTYPE; a tool sees exactly what it declared.
    for name in [n for n in os.environ if n not in settings["env"]]:
        del os.environ[name]
    sys.path.insert(0, workflow_dir)
    os.chdir(workflow_dir)
    restrict(workflow_dir, settings["memory_bytes"])
    modules = {}
    replies.write(b'{"ready":true}\n')
    replies.flush()
    for line in requests:
        request = json.loads(line)
        outcome = call(request, modules)
        replies.write(encode(outcome, request["id"]).encode("utf-8") + b"\n")
        replies.flush()
        sys.stdout.flush()
        sys.stderr.flush()


main()
