#!/usr/bin/env python3
"""Classify heaptrack's leaked (= live at the kill) allocations by where they were made.
usage: breakdown.py LEAKS.txt DIVISOR [label]   (LEAKS from heaptrack_print --print-leaks 1 -n 400 -s 60)"""
import re, sys
text = open(sys.argv[1]).read().split("\n")
div = float(sys.argv[2])
units = {"B": 1, "K": 1e3, "M": 1e6, "G": 1e9}
def size(s):
    m = re.match(r"([0-9.]+)([KMG]?)", s)
    return float(m.group(1)) * units.get(m.group(2) or "B", 1)
cats = [
    ("connection task (its future)", lambda s: "Cell" in s and "on_upgrade" in s),
    ("room actor task (its future)", lambda s: "Cell" in s and "spawn_room" in s),
    ("websocket read buffer", lambda s: "WebSocketContext::new" in s),
    ("websocket write buffer (largest frame written, kept)", lambda s: "buffer_frame" in s),
    ("connection outbox channel", lambda s: ("chan::channel" in s and "Connection::serve" in s) or s.startswith("circlekeeper::server::ws::Connection::serve")),
    ("room inbox channel", lambda s: ("chan::channel" in s and "spawn_room" in s) or s.startswith("circlekeeper::live::room::spawn_room")),
    ("remembered acks", lambda s: "remember" in s),
    ("resume buffer / frames kept", lambda s: "delivery::frame" in s or "event_frame" in s or "restore_recent" in s or "record" in s and "journal" in s),
    ("sled (cache, tree, log buffers)", lambda s: "sled::" in s),
    ("room state (view, plan, tokens, maps)", lambda s: "room::state" in s or "live::room" in s),
    ("other connection state (hyper, tungstenite, timers)", lambda s: "hyper" in s or "tungstenite" in s or "interval" in s or "ws::Connection" in s),
]
FIXED = "fixed, once per server (sled's metrics and log buffers, runtime): left out"
totals = {c[0]: 0.0 for c in cats}; totals["other"] = 0.0; totals[FIXED] = 0.0
total = 0.0
i = 0
top = None
while i < len(text):
    line = text[i]
    m = re.match(r"^([0-9.]+[KMG]?B?) leaked over (\d+) calls from$", line)
    if m:
        top = (size(m.group(1)), text[i + 1] if i + 1 < len(text) else "")
        total += top[0]
        top_left = top[0]
        i += 2
        # sub-entries
        while i < len(text) and not re.match(r"^[0-9.]+[KMG]?B? leaked over \d+ calls from$", text[i]):
            m2 = re.match(r"^([0-9.]+[KMG]?B?) leaked over (\d+) calls from:$", text[i])
            if m2:
                sz = size(m2.group(1)); j = i + 1; stack = [top[1]]
                while j < len(text) and text[j].startswith("  "):
                    stack.append(text[j]); j += 1
                s = "\n".join(stack)
                hit = next((name for name, f in cats if f(s)), None)
                if int(m2.group(2)) < 64 and hit in (None, "sled (cache, tree, log buffers)"):
                    totals[FIXED] += sz; top_left -= sz; i = j; continue
                for name, f in cats:
                    if f(s):
                        totals[name] += sz; break
                else:
                    totals["other"] += sz
                top_left -= sz
                i = j
            else:
                i += 1
        # what the sub-entries did not show
        if top_left > 0:
            s = top[1]
            for name, f in cats:
                if f(s):
                    totals[name] += top_left; break
            else:
                totals["other"] += top_left
        continue
    i += 1
label = sys.argv[3] if len(sys.argv) > 3 else "per unit"
print(f"| where | bytes {label} |")
print("| --- | ---: |")
for k, v in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"| {k} | {v/div:,.0f} |")
print(f"| **all live heap that grows with the load** | **{(total-totals[FIXED])/div:,.0f}** |")
