#!/usr/bin/env python3
"""The same PreToolUse hook as `night hook PreToolUse`, in Python, for benches/hook.rs: read the
hook JSON, load policy.json from $NIGHT_RUN_DIR, check a file tool's path against the write globs
or each simple command of a Bash call against deny/allow and a few irreversible patterns, append
one audit line, print the JSON denial. Standard library only, as a hook script would be."""
import datetime, fnmatch, json, os, re, sys

run_dir = os.environ["NIGHT_RUN_DIR"]
data = json.load(sys.stdin)
with open(os.path.join(run_dir, "policy.json")) as f:
    policy = json.load(f)

IRREVERSIBLE = ["git push*", "npm publish*", "cargo publish*", "git reset --hard*", "git clean*-*f*", "rm * /*", "kubectl apply*", "terraform apply*", "curl*-X*"]
tool, tool_input = data.get("tool_name", ""), data.get("tool_input", {})
reason = None
if tool in ("Edit", "Write", "MultiEdit", "NotebookEdit"):
    path = tool_input.get("file_path") or tool_input.get("notebook_path") or ""
    full = os.path.realpath(os.path.join(data.get("cwd", policy["repo_root"]), path))
    root = os.path.realpath(policy["repo_root"])
    if not full.startswith(root + os.sep):
        reason = f"night denies writing `{path}`: it is outside the repository."
    else:
        rel = os.path.relpath(full, root)
        if not any(fnmatch.fnmatchcase(rel, g) for g in policy["write"]):
            reason = f"night denies writing `{rel}`: this run may only write {', '.join(policy['write'])}."
elif tool == "Bash":
    for part in re.split(r"&&|\|\||;|\||&|\n", tool_input.get("command", "")):
        part = " ".join(part.split())
        if not part or any(fnmatch.fnmatchcase(part, a) for a in policy["allow"]):
            continue
        hit = next((p for p in policy["deny"] if fnmatch.fnmatchcase(part, p)), None)
        if hit is None and policy["deny_irreversible"]:
            hit = next((p for p in IRREVERSIBLE if fnmatch.fnmatchcase(part, p)), None)
        if hit:
            reason = f"night denies `{part}`: it matches `{hit}`."
            break

entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(), "event": "PreToolUse", "tool": tool,
         "decision": "denied" if reason else "allowed", "reason": reason}
with open(os.path.join(run_dir, "audit.jsonl"), "a") as f:
    f.write(json.dumps(entry) + "\n")
if reason:
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}}))
