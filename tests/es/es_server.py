#!/usr/bin/python3
"""Elasticsearch test server for eIRC's shipper tests (Python 3 stdlib only).

It answers the part of the Elasticsearch 8 REST API the shipper and the
history bridge use, with the response shapes the Elasticsearch 8 reference
documents:

  GET  /                          cluster info
  PUT  /_index_template/<name>    {"acknowledged": true}
  POST /_bulk, /<index>/_bulk     NDJSON; per-item results; "errors": true
                                  when any item failed; create -> 201, or 409
                                  version_conflict_engine_exception when the
                                  _id exists; index -> 201/200
  GET|POST /<indices>/_search     match_all, ids, term(s) on keyword fields,
                                  match on text (standard-analyzer-like words,
                                  OR, score = matched words), range (gt/gte/
                                  lt/lte, dates compared as epoch ms), prefix,
                                  wildcard (* ?), exists, bool (must, filter,
                                  should + minimum_should_match, must_not);
                                  size/from; sort (list of fields or
                                  _score/_shard_doc, asc/desc; default
                                  @timestamp then _id) with each hit's "sort"
                                  values (dates as epoch ms); search_after;
                                  highlight of text fields with pre/post tags
                                  (default <em></em>); hits.total
  POST /<indices>/_pit?keep_alive=1m   {"id": ...}: a point in time (a copy of
                                  the matching indices); search it with
                                  POST /_search {"pit": {"id": ...}}; its
                                  answers carry "pit_id"
  DELETE /_pit {"id": ...}        {"succeeded": true, "num_freed": 1}
  GET  /<indices>/_count
  POST /<indices>/_refresh        {"_shards": ...} (documents are searchable at once)
  GET|PUT|POST|DELETE /<index>/_doc/<id>   one document (Get, Index, Delete
                                  API shapes: "found", "result" created/
                                  updated/deleted/not_found, 404 when absent)

Control endpoints for tests (not Elasticsearch), under /_eirc_test/:

  POST fail      {"status": 429|500|503, "count": N}  next N _bulk requests
                 fail as a whole with that status and an ES error body
  POST item_fail {"status": 429|503, "count": N}      next N create items fail
                 with that status (retryable per-item errors)
  POST reject    {"text": "MARKER"}                   documents whose "text"
                 contains MARKER get a per-item 400 document_parsing_exception
  POST down      {"seconds": S}                       close the listener and
                 every connection; listen again after S seconds
  POST reset     forget every document and failure mode
  GET  stats     counters; GET ids: {"ids": {"<index>": [ids...]}}

Usage: es_server.py --port N [--port-file PATH] [--data FILE]. With --data
the indices and templates are written to FILE before each change is
acknowledged and read back at start, so that a restarted server (a rebooted
host) has what it acknowledged, as Elasticsearch does. With port 0 a free port is
chosen; the port is printed as "PORT <n>" on stdout (and written to
--port-file) once the server listens.
"""

import argparse
import calendar
import fnmatch
import json
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "8.11.0"
BODY_MAX = 200 * 1024 * 1024


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.indices = {}        # name -> {id: source}
        self.templates = {}
        self.fail = None         # (status, remaining)
        self.item_fail = None    # (status, remaining)
        self.reject_text = None
        self.stats = {"bulk_requests": 0, "bulk_failed": 0, "create_attempts": 0,
                      "created": 0, "conflicts": 0, "item_errors": 0,
                      "rejected_400": 0, "searches": 0, "pits_open": 0}
        self.pits = {}           # id -> [(index, id, source)]
        self.pit_seq = 0


STATE = State()
DATA = [None]  # --data: the file the indices and templates persist in


def load_data():
    """Indices and templates from --data, as a restarted node has them."""
    import os
    if DATA[0] and os.path.exists(DATA[0]):
        with open(DATA[0]) as f:
            d = json.load(f)
        STATE.indices, STATE.templates = d["indices"], d["templates"]


def save_data():
    """Written before a change is acknowledged, as Elasticsearch's translog."""
    import os
    if not DATA[0]:
        return
    with STATE.lock:
        text = json.dumps({"indices": STATE.indices, "templates": STATE.templates})
    with open(DATA[0] + ".tmp", "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(DATA[0] + ".tmp", DATA[0])
DOWN = threading.Event()
DOWN_SECONDS = [0.0]


def es_error(etype, reason, status, index=None):
    cause = {"type": etype, "reason": reason}
    if index:
        cause["index"] = index
    return {"error": {"root_cause": [cause], "type": etype, "reason": reason},
            "status": status}


def whole_failure(status):
    if status == 429:
        return es_error("es_rejected_execution_exception",
                        "rejected execution of coordinating operation", 429)
    if status == 503:
        return es_error("cluster_block_exception",
                        "blocked by: [SERVICE_UNAVAILABLE/2/no master];", 503)
    return es_error("exception", "test server injected failure", status)


def item_result(action, index, doc_id, status, error=None, result=None, seq=0):
    body = {"_index": index, "_id": doc_id, "status": status}
    if error:
        body["error"] = error
    else:
        body.update({"_version": 1, "result": result,
                     "_shards": {"total": 2, "successful": 1, "failed": 0},
                     "_seq_no": seq, "_primary_term": 1})
    return {action: body}


def valid_index(name):
    return (bool(name) and name == name.lower() and not name.startswith(("_", "-", "+"))
            and not re.search(r'[\\/*?"<>| ,#:]', name) and len(name.encode()) <= 255)


def bulk_item(action, meta, source, default_index):
    """One action of a bulk request; caller holds the lock."""
    st = STATE.stats
    index = meta.get("_index", default_index)
    doc_id = meta.get("_id")
    if not valid_index(index or ""):
        st["item_errors"] += 1
        return item_result(action, index, doc_id, 400, {
            "type": "invalid_index_name_exception",
            "reason": "Invalid index name [%s], must be lowercase" % index,
            "index": index})
    if action == "create":
        st["create_attempts"] += 1
    if STATE.item_fail and STATE.item_fail[1] > 0:
        status, left = STATE.item_fail
        STATE.item_fail = (status, left - 1)
        st["item_errors"] += 1
        etype = ("es_rejected_execution_exception" if status == 429
                 else "unavailable_shards_exception")
        return item_result(action, index, doc_id, status,
                           {"type": etype, "reason": "test server injected item failure"})
    text = source.get("text") if isinstance(source, dict) else None
    if STATE.reject_text and isinstance(text, str) and STATE.reject_text in text:
        st["item_errors"] += 1
        st["rejected_400"] += 1
        return item_result(action, index, doc_id, 400, {
            "type": "document_parsing_exception",
            "reason": "[1:42] failed to parse field [text] of type [text] in document "
                      "with id '%s'" % doc_id})
    docs = STATE.indices.setdefault(index, {})
    if doc_id is None:
        doc_id = "auto-%d" % (len(docs) + 1)
    if action == "create" and doc_id in docs:
        st["conflicts"] += 1
        return item_result(action, index, doc_id, 409, {
            "type": "version_conflict_engine_exception",
            "reason": "[%s]: version conflict, document already exists (current version "
                      "[1])" % doc_id, "index_uuid": "eirc-test", "shard": "0",
            "index": index})
    existed = doc_id in docs
    docs[doc_id] = source
    st["created"] += 0 if existed else 1
    return item_result(action, index, doc_id, 200 if existed else 201,
                       result="updated" if existed else "created", seq=len(docs))


def run_bulk(body, default_index):
    lines = body.split(b"\n")
    if not body.endswith(b"\n"):
        return 400, es_error("illegal_argument_exception",
                             "The bulk request must be terminated by a newline [\\n]", 400)
    lines = lines[:-1]
    items = []
    i = 0
    with STATE.lock:
        STATE.stats["bulk_requests"] += 1
        if STATE.fail and STATE.fail[1] > 0:
            status, left = STATE.fail
            STATE.fail = (status, left - 1)
            STATE.stats["bulk_failed"] += 1
            return status, whole_failure(status)
        while i < len(lines):
            if not lines[i].strip():
                i += 1
                continue
            try:
                action_obj = json.loads(lines[i])
                (action, meta), = action_obj.items()
                source = json.loads(lines[i + 1]) if action != "delete" else None
            except (ValueError, IndexError):
                return 400, es_error("x_content_parse_exception",
                                     "[1:1] Malformed action/metadata line [%d]" % (i + 1), 400)
            items.append(bulk_item(action, meta, source, default_index))
            i += 2 if action != "delete" else 1
    errors = any(next(iter(it.values()))["status"] >= 300 for it in items)
    return 200, {"took": 1, "errors": errors, "items": items}


def words(text):
    """Lower-cased words, roughly as the standard analyzer splits them."""
    return re.findall(r"\w+", text.lower()) if isinstance(text, str) else []


def as_list(v):
    return v if isinstance(v, list) else [v]


def date_ms(v):
    """An ISO 8601 UTC date ("2026-11-24T11:04:34.392Z") or epoch ms, as ms."""
    if isinstance(v, (int, float)):
        return int(v)
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?Z$", v)
    if not m:
        raise ValueError("failed to parse date field [%s]" % v)
    y, mo, d, h, mi, se = (int(x) for x in m.groups()[:6])
    ms = int((m.group(7) or "0").ljust(3, "0"))
    return calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) * 1000 + ms


def field_value(src, field):
    v = src.get(field)
    return date_ms(v) if field == "@timestamp" and v is not None else v


def match_range(src, spec):
    (field, cond), = spec.items()
    v = field_value(src, field)
    if v is None:
        return False
    conv = date_ms if field == "@timestamp" else (lambda x: x)
    ops = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
           "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    return all(ops[k](v, conv(b)) for k, b in cond.items() if k in ops)


def match(doc_id, src, query):
    """True when the document matches (score() gives the relevance)."""
    if not query or "match_all" in query:
        return True
    if "ids" in query:
        return doc_id in query["ids"].get("values", [])
    if "term" in query:
        (field, value), = query["term"].items()
        if isinstance(value, dict):
            value = value.get("value")
        return src.get(field) == value
    if "terms" in query:
        (field, values), = query["terms"].items()
        return src.get(field) in values
    if "match" in query:
        (field, spec), = query["match"].items()
        text = spec.get("query") if isinstance(spec, dict) else spec
        return bool(set(words(text)) & set(words(src.get(field))))
    if "range" in query:
        return match_range(src, query["range"])
    if "prefix" in query:
        (field, spec), = query["prefix"].items()
        value = spec.get("value") if isinstance(spec, dict) else spec
        return isinstance(src.get(field), str) and src[field].startswith(value)
    if "wildcard" in query:
        (field, spec), = query["wildcard"].items()
        value = spec.get("value") if isinstance(spec, dict) else spec
        return isinstance(src.get(field), str) and fnmatch.fnmatchcase(
            src[field], value.replace("[", "[[]"))
    if "exists" in query:
        return src.get(query["exists"]["field"]) is not None
    if "bool" in query:
        b = query["bool"]
        if not all(match(doc_id, src, q) for q in as_list(b.get("filter", [])) +
                   as_list(b.get("must", []))):
            return False
        if any(match(doc_id, src, q) for q in as_list(b.get("must_not", []))):
            return False
        should = as_list(b.get("should", []))
        need = int(b.get("minimum_should_match",
                         0 if b.get("filter") or b.get("must") else 1 if should else 0))
        return sum(1 for q in should if match(doc_id, src, q)) >= need
    return False


def score(src, query):
    """Matched query words of every match clause (1.0 without any)."""
    if not isinstance(query, dict):
        return 0.0
    if "match" in query:
        (field, spec), = query["match"].items()
        text = spec.get("query") if isinstance(spec, dict) else spec
        return float(len(set(words(text)) & set(words(src.get(field)))))
    if "bool" in query:
        return sum(score(src, q) for q in as_list(query["bool"].get("must", [])) +
                   as_list(query["bool"].get("should", [])))
    return 0.0


def highlight(src, query, spec):
    """ES's "highlight" object: each field's text with the query's words in
    pre/post tags (one fragment: the whole value)."""
    wanted = set()

    def collect(q):
        if not isinstance(q, dict):
            return
        if "match" in q:
            (_, s), = q["match"].items()
            wanted.update(words(s.get("query") if isinstance(s, dict) else s))
        if "bool" in q:
            for k in ("must", "should", "filter"):
                for sub in as_list(q["bool"].get(k, [])):
                    collect(sub)
    collect(query)
    pre = (spec.get("pre_tags") or ["<em>"])[0]
    post = (spec.get("post_tags") or ["</em>"])[0]
    out = {}
    for field in spec.get("fields", {}):
        text = src.get(field)
        if not isinstance(text, str):
            continue
        marked = re.sub(r"\w+", lambda m: pre + m.group(0) + post
                        if m.group(0).lower() in wanted else m.group(0), text)
        if marked != text:
            out[field] = [marked]
    return out


def sort_key_and_values(hit, sort_spec, query):
    """(key for Python's sort, the hit's "sort" values) for a sort list."""
    name, doc_id, src, rank = hit
    key, values = [], []
    for s in sort_spec:
        field, order = (s, "desc" if s == "_score" else "asc") if isinstance(s, str) else \
            next(iter(s.items()))
        if isinstance(order, dict):
            order = order.get("order", "asc")
        if field == "_score":
            v = score(src, query)
        elif field in ("_shard_doc", "_doc"):
            v = rank
        else:
            v = field_value(src, field)
        values.append(v)
        k = v if v is not None else ""
        key.append(Desc(k) if order == "desc" else Asc(k))
    return key, values


class Asc:
    def __init__(self, v):
        self.v = v

    def __lt__(self, o):
        return self.v < o.v

    def __eq__(self, o):
        return self.v == o.v


class Desc(Asc):
    def __lt__(self, o):
        return self.v > o.v


def docs_of(pattern):
    """[(index, id, source)] of the indices matching pattern; lock held."""
    out = []
    for pat in pattern.split(","):
        for name, docs in STATE.indices.items():
            if fnmatch.fnmatchcase(name, pat):
                out += [(name, i, s) for i, s in docs.items()]
    return out


def after_values(values, sort_values):
    """True when a hit's sort values come after search_after's."""
    for s, a, v in zip(sort_values, values[0], values[1]):
        if a == v:
            continue
        desc = s[1] == "desc"
        return v < a if desc else v > a
    return False


def run_search(pattern, body, count_only=False):
    query = body.get("query")
    pit = body.get("pit")
    with STATE.lock:
        STATE.stats["searches"] += 1
        if pit:
            docs = STATE.pits.get(pit.get("id"))
            if docs is None:
                return 404, es_error("search_context_missing_exception",
                                     "No search context found for id [%s]" % pit.get("id"), 404)
        else:
            docs = docs_of(pattern)
        hits = [(n, i, s, r) for r, (n, i, s) in enumerate(docs) if match(i, s, query)]
    if count_only:
        return 200, {"count": len(hits),
                     "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}
    sort_spec = as_list(body.get("sort") or [{"@timestamp": "asc"}, {"_id": "asc"}])
    sort_spec = [s if not isinstance(s, dict) or "_id" not in s else {"_id_": s["_id"]}
                 for s in sort_spec]
    keyed = []
    for h in hits:
        key, values = [], []
        if body.get("sort"):
            src = dict(h[2], _id_=h[1])
            key, values = sort_key_and_values((h[0], h[1], src, h[3]), sort_spec, query)
        keyed.append((key, values, h))
    if body.get("sort"):
        keyed.sort(key=lambda k: k[0])
    else:  # the order this server always used: @timestamp (as text), then _id
        keyed.sort(key=lambda k: (k[2][2].get("@timestamp", ""), k[2][1]))
    if body.get("search_after") is not None:
        orders = []
        for s in sort_spec:
            f, o = (s, "desc" if s == "_score" else "asc") if isinstance(s, str) else \
                next(iter(s.items()))
            orders.append((f, o.get("order", "asc") if isinstance(o, dict) else o))
        sa = body["search_after"]
        keyed = [k for k in keyed if after_values((sa, k[1]), orders)]
    start = int(body.get("from", 0))
    size = int(body.get("size", 10))
    out = []
    for key, values, (n, i, s, _) in keyed[start:start + size]:
        hit = {"_index": n, "_id": i, "_score": score(s, query) or 1.0, "_source": s}
        if body.get("sort"):
            hit["sort"] = values
        if body.get("highlight"):
            hl = highlight(s, query, body["highlight"])
            if hl:
                hit["highlight"] = hl
        out.append(hit)
    answer = {"took": 1, "timed_out": False,
              "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
              "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": 1.0,
                       "hits": out}}
    if pit:
        answer["pit_id"] = pit["id"]
    return 200, answer


def open_pit(pattern):
    with STATE.lock:
        STATE.pit_seq += 1
        pid = "pit-%d" % STATE.pit_seq
        STATE.pits[pid] = docs_of(pattern)
        STATE.stats["pits_open"] = len(STATE.pits)
    return 200, {"id": pid, "_shards": {"total": 1, "successful": 1, "skipped": 0,
                                        "failed": 0}}


def close_pit(body):
    with STATE.lock:
        freed = 1 if STATE.pits.pop(body.get("id"), None) is not None else 0
        STATE.stats["pits_open"] = len(STATE.pits)
    return (200 if freed else 404), {"succeeded": bool(freed), "num_freed": freed}


def doc_api(method, index, doc_id, raw):
    """The document APIs (Get, Index, Delete) of one document."""
    head = {"_index": index, "_id": doc_id}
    with STATE.lock:
        docs = STATE.indices.get(index)
        if method in ("GET", "HEAD"):
            if docs is None or doc_id not in docs:
                return 404, dict(head, found=False)
            return 200, dict(head, _version=1, _seq_no=0, _primary_term=1, found=True,
                             _source=docs[doc_id])
        if method == "DELETE":
            if docs is None or doc_id not in docs:
                return 404, dict(head, _version=1, result="not_found",
                                 _shards={"total": 2, "successful": 1, "failed": 0})
            del docs[doc_id]
            return 200, dict(head, _version=2, result="deleted",
                             _shards={"total": 2, "successful": 1, "failed": 0})
        if not valid_index(index):
            return 400, es_error("invalid_index_name_exception",
                                 "Invalid index name [%s], must be lowercase" % index, 400, index)
        source = json.loads(raw)
        if not isinstance(source, dict):
            raise ValueError("the document must be an object")
        docs = STATE.indices.setdefault(index, {})
        existed = doc_id in docs
        docs[doc_id] = source
        return (200 if existed else 201), dict(
            head, _version=2 if existed else 1, result="updated" if existed else "created",
            _shards={"total": 2, "successful": 1, "failed": 0}, _seq_no=len(docs),
            _primary_term=1)


def control(name, body):
    with STATE.lock:
        if name == "fail":
            STATE.fail = (int(body["status"]), int(body.get("count", 1)))
        elif name == "item_fail":
            STATE.item_fail = (int(body["status"]), int(body.get("count", 1)))
        elif name == "reject":
            STATE.reject_text = body.get("text") or None
        elif name == "reset":
            STATE.reset()
        elif name == "stats":
            return 200, dict(STATE.stats, docs=sum(len(d) for d in STATE.indices.values()))
        elif name == "ids":
            return 200, {"ids": {n: sorted(d) for n, d in STATE.indices.items()}}
        elif name == "down":
            DOWN_SECONDS[0] = float(body.get("seconds", 1))  # DOWN is set after the reply
        else:
            return 404, es_error("eirc_test", "unknown control " + name, 404)
    return 200, {"acknowledged": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "eirc-es-test"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-elastic-product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > BODY_MAX:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def route(self):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        raw = self.body()
        if parts[:1] == ["_eirc_test"] and len(parts) == 2:
            if parts[1] == "down":  # drop every connection only once this reply is out
                self.after_reply = DOWN.set
            return control(parts[1], json.loads(raw or b"{}"))
        if not parts:
            return 200, {"name": "eirc-es-test", "cluster_name": "eirc-test",
                         "version": {"number": VERSION}, "tagline": "You Know, for Search"}
        if parts[0] == "_index_template" and len(parts) == 2 and self.command == "PUT":
            with STATE.lock:
                STATE.templates[parts[1]] = json.loads(raw)
            return 200, {"acknowledged": True}
        if parts[-1] == "_bulk" and self.command in ("POST", "PUT"):
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if ctype not in ("application/x-ndjson", "application/json"):
                return 406, {"error": "Content-Type header [%s] is not supported" % ctype,
                             "status": 406}
            return run_bulk(raw, parts[0] if len(parts) == 2 else None)
        if parts == ["_pit"] and self.command == "DELETE":
            return close_pit(json.loads(raw or b"{}"))
        if len(parts) == 2 and parts[1] == "_pit" and self.command == "POST":
            return open_pit(parts[0])
        if len(parts) == 2 and parts[1] == "_refresh" and self.command in ("POST", "GET"):
            return 200, {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if len(parts) == 3 and parts[1] == "_doc":
            return doc_api(self.command, parts[0], urllib.parse.unquote(parts[2]), raw)
        if parts[-1] in ("_search", "_count") and len(parts) <= 2:
            pattern = parts[0] if len(parts) == 2 else "*"
            return run_search(pattern, json.loads(raw or b"{}"), parts[-1] == "_count")
        return 404, es_error("index_not_found_exception", "no such index [%s]" % path, 404)

    def handle_any(self):
        try:
            status, obj = self.route()
        except (ValueError, KeyError, TypeError) as e:
            status, obj = 400, es_error("parse_exception", str(e), 400)
        if self.command in ("POST", "PUT", "DELETE") and status < 300 and \
                "_search" not in self.path and "_pit" not in self.path:
            save_data()
        self.reply(status, obj)
        after, self.after_reply = getattr(self, "after_reply", None), None
        if after:
            self.wfile.flush()
            after()

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr):
        self.conns = set()
        self.conns_lock = threading.Lock()
        super().__init__(addr, Handler)

    def process_request_thread(self, request, client_address):
        with self.conns_lock:
            self.conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conns_lock:
                self.conns.discard(request)

    def drop_all(self):
        with self.conns_lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--data", help="keep indices and templates in this file across restarts")
    args = ap.parse_args()
    DATA[0] = args.data
    load_data()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    port = args.port
    first = True
    while True:
        srv = Server(("127.0.0.1", port))
        port = srv.server_address[1]
        if first:
            if args.port_file:
                with open(args.port_file + ".tmp", "w") as f:
                    f.write("%d\n" % port)
                import os
                os.rename(args.port_file + ".tmp", args.port_file)
            print("PORT %d" % port, flush=True)
            first = False
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        DOWN.wait()
        DOWN.clear()
        srv.shutdown()
        srv.server_close()
        srv.drop_all()
        time.sleep(DOWN_SECONDS[0])


if __name__ == "__main__":
    main()
