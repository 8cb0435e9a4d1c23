"""openkey: read the Open Key's datasets through its analysis service.

Standard library and numpy only, because Debian (the key's OS) has neither uproot nor awkward nor ROOT. The calls
look like uproot's where they can, so the ATLAS Open Data notebooks port with small changes:

    import openkey as ok
    ok.datasets()                                   # [{'id': 'zll', 'title': ..., 'entries': ...}, ...]
    ok.branches('zll')                              # [{'name': 'lep_pt', 'type': 'vector<float>', ...}, ...]
    a = ok.arrays('zll', ['lep_pt', 'met_et'], cut='lep_n==2', entry_stop=100_000)
    a['met_et']                                     # numpy array, one value per selected event
    a['lep_pt'][:, 0]                               # jagged branch: the leading lepton of each event (NaN if none)
    h = ok.histogram('zll', 'sqrt(...)/1000', bins=60, range=(60, 120), cut='lep_n==2')
    h.counts, h.edges, h.errors

The service is found at $OPENKEY_URL (default http://127.0.0.1:8080), so the same notebook runs on the key, in a
VM twin and in CI.
"""

from __future__ import annotations

import json
import os
import struct
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["datasets", "branches", "arrays", "histogram", "Jagged", "Histogram", "OpenKeyError", "url"]

# Analyses over millions of events take seconds; a dead service should fail fast, a slow one should not.
TIMEOUT_SECONDS = 600


class OpenKeyError(RuntimeError):
    """An error answered by the service (code, message, hint) or a failure to reach it."""

    def __init__(self, message: str, code: str = "E_CLIENT", status: int | None = None, hint: str | None = None):
        super().__init__(message if not hint else f"{message} ({hint})")
        self.code = code
        self.status = status
        self.hint = hint


def url() -> str:
    """The service's base URL: $OPENKEY_URL or http://127.0.0.1:8080."""
    return os.environ.get("OPENKEY_URL", "http://127.0.0.1:8080").rstrip("/")


def _request(method: str, path: str, body: Any = None) -> tuple[bytes, str]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"accept": "application/json, application/octet-stream"}
    if data is not None:
        headers["content-type"] = "application/json"
    request = urllib.request.Request(url() + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            answer = json.loads(raw)
        except ValueError:
            raise OpenKeyError(f"{method} {path}: HTTP {error.code}", status=error.code) from None
        raise OpenKeyError(
            answer.get("message", f"HTTP {error.code}"),
            code=answer.get("code", "E_HTTP"),
            status=error.code,
            hint=answer.get("hint"),
        ) from None
    except urllib.error.URLError as error:
        raise OpenKeyError(
            f"cannot reach the analysis service at {url()}: {error.reason}",
            code="E_UNREACHABLE",
            hint="is the key's service running? set OPENKEY_URL to its address",
        ) from None


def _json(method: str, path: str, body: Any = None) -> Any:
    raw, _ = _request(method, path, body)
    return json.loads(raw)


def datasets() -> list[dict]:
    """Every dataset the service offers: id, title, entries, files (with their labels from dataset.json)."""
    return _json("GET", "/api/datasets")


def branches(dataset: str) -> list[dict]:
    """The branches of a dataset's tree: name, type (e.g. 'vector<float>', 'Float_t[lep_n]'), isArray."""
    return _json("GET", "/api/datasets/" + urllib.parse.quote(dataset, safe=""))["branches"]


@dataclass
class Jagged:
    """A jagged column: event i holds content[offsets[i]:offsets[i+1]] (uproot/awkward's layout, in numpy)."""

    offsets: np.ndarray
    content: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> np.ndarray:
        """The number of elements of each event."""
        return np.diff(self.offsets)

    def at(self, index: int, fill: float = np.nan) -> np.ndarray:
        """Element `index` of every event (negative counts from the end); `fill` where an event has too few."""
        counts = self.counts
        position = self.offsets[:-1] + (index if index >= 0 else counts + index)
        present = (counts > index) if index >= 0 else (counts >= -index)
        out = np.full(len(counts), fill, dtype=np.float64 if np.isnan(fill) else self.content.dtype)
        out[present] = self.content[position[present]]
        return out

    def event(self, i: int) -> np.ndarray:
        return self.content[self.offsets[i] : self.offsets[i + 1]]

    def sum(self) -> np.ndarray:
        """The sum over each event's elements."""
        out = np.add.reduceat(self.content, self.offsets[:-1]) if len(self.content) else np.zeros(len(self))
        out = np.asarray(out, dtype=np.float64)
        out[self.counts == 0] = 0
        return out

    def __getitem__(self, key: Any) -> Any:
        # a[:, k] → element k of each event, as with awkward arrays; a[i] → event i; a[mask] → those events.
        if isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None):
            return self.at(int(key[1]))
        if isinstance(key, (int, np.integer)):
            return self.event(int(key))
        mask = np.asarray(key)
        if mask.dtype == bool:
            counts = self.counts[mask]
            starts = self.offsets[:-1][mask]
            content = (
                np.concatenate([self.content[s : s + c] for s, c in zip(starts, counts)])
                if len(counts)
                else self.content[:0]
            )
            return Jagged(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), content)
        raise TypeError(f"unsupported index {key!r} for a jagged column")

    def __repr__(self) -> str:
        return f"Jagged({len(self)} events, {len(self.content)} elements, {self.content.dtype})"


# The column stream (POST /api/columns): "OKCOLS1\n", a little-endian uint32 header length, the JSON header, then
# each column's buffers in header order, little-endian, every buffer starting on an 8-byte boundary.
_MAGIC = b"OKCOLS1\n"
_DTYPES = {"f8": np.float64, "f4": np.float32, "i8": np.int64, "i4": np.int32, "u4": np.uint32, "u1": np.uint8}


def _decode_columns(raw: bytes) -> dict[str, Any]:
    if not raw.startswith(_MAGIC):
        raise OpenKeyError("the service answered something that is not a column stream", code="E_PROTOCOL")
    (header_length,) = struct.unpack_from("<I", raw, len(_MAGIC))
    start = len(_MAGIC) + 4
    header = json.loads(raw[start : start + header_length])
    position = start + header_length
    out: dict[str, Any] = {}

    def take(dtype: str, count: int) -> np.ndarray:
        nonlocal position
        position = (position + 7) // 8 * 8
        kind = np.dtype(_DTYPES[dtype]).newbyteorder("<")
        array = np.frombuffer(raw, dtype=kind, count=count, offset=position)
        position += array.nbytes
        return array.astype(kind.newbyteorder("="))

    for column in header["columns"]:
        if column["jagged"]:
            offsets = take("i8", column["events"] + 1)
            out[column["name"]] = Jagged(offsets, take(column["dtype"], column["length"]))
        else:
            out[column["name"]] = take(column["dtype"], column["length"])
    out["_entries"] = header["entries"]
    return out


def arrays(
    dataset: str,
    expressions: Sequence[str] | str,
    cut: str | None = None,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    files: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Selected columns of a dataset as numpy arrays, one value per event passing `cut`.

    Each name is a branch (or an expression in the analyser's TTree::Draw language); jagged branches come back as
    `Jagged` (offsets, content). `entry_start`/`entry_stop` count entries over the dataset's files in order, as
    uproot's do. The service bounds a request's size and answers 413 with its limit beyond it.
    """
    names = [expressions] if isinstance(expressions, str) else list(expressions)
    body: dict[str, Any] = {"dataset": dataset, "columns": names}
    if cut:
        body["selection"] = cut
    if entry_start is not None:
        body["entryStart"] = int(entry_start)
    if entry_stop is not None:
        body["entryStop"] = int(entry_stop)
    if files is not None:
        body["files"] = list(files)
    raw, _ = _request("POST", "/api/columns", body)
    columns = _decode_columns(raw)
    columns.pop("_entries", None)
    return columns


@dataclass
class Histogram:
    """A filled histogram: counts, edges and errors per bin (√Σw² ), plus the per-sample parts of a mixed request."""

    counts: np.ndarray
    edges: np.ndarray
    errors: np.ndarray
    entries: int = 0
    selected: int = 0
    samples: list[dict] = field(default_factory=list)

    @property
    def centres(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def width(self) -> float:
        return float(self.edges[1] - self.edges[0])

    def total(self) -> float:
        return float(self.counts.sum())

    def stack(self, role: str) -> np.ndarray:
        """The sum of the samples of one role ('data' or 'simulation'), normalised as the analyser does."""
        parts = [s["counts"] for s in self.samples if s.get("role") == role]
        return np.sum(parts, axis=0) if parts else np.zeros_like(self.counts)


def _th1(th1: dict, bins: int) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(th1["fArray"][1 : bins + 1], dtype=np.float64)
    sumw2 = th1.get("fSumw2") or []
    errors = np.sqrt(np.asarray(sumw2[1 : bins + 1], dtype=np.float64)) if len(sumw2) else np.sqrt(np.abs(counts))
    return counts, errors


def histogram(
    datasets: str | Sequence[str],
    expr: str,
    bins: int,
    range: tuple[float, float],
    cut: str | None = None,
    weight: str | None = None,
    luminosity: float | None = None,
    max_entries: int | None = None,
) -> Histogram:
    """Fill one histogram of `expr` over one dataset or several (data and simulation, normalised like the analyser).

    `cut` is the selection, `weight` an event weight expression, `luminosity` in fb⁻¹ (for simulation samples when
    several datasets are mixed; data states its own).
    """
    low, high = float(range[0]), float(range[1])
    body: dict[str, Any] = {"histograms": [{"name": "h", "expr": expr, "bins": int(bins), "min": low, "max": high}]}
    if isinstance(datasets, str):
        body["dataset"] = datasets
    else:
        body["datasets"] = list(datasets)
    if cut:
        body["selection"] = cut
    if weight:
        body["weight"] = weight
    if luminosity is not None:
        body["luminosity"] = float(luminosity)
    if max_entries is not None:
        body["maxEntries"] = int(max_entries)
    analysis = _json("POST", "/api/analyses?wait=1", body)
    if analysis.get("state") != "done":
        error = analysis.get("error") or {}
        raise OpenKeyError(error.get("message", f"analysis {analysis.get('state')}"), code=error.get("code", "E_ANALYSIS"))
    result = analysis["result"]
    counts, errors = _th1(result["histograms"]["h"], int(bins))
    samples = []
    for sample in result.get("samples", []) or []:
        th1 = (sample.get("histograms") or {}).get("h")
        if th1 is None:
            continue
        sample_counts, sample_errors = _th1(th1, int(bins))
        samples.append({**{k: v for k, v in sample.items() if k != "histograms"}, "counts": sample_counts, "errors": sample_errors})
    return Histogram(
        counts=counts,
        edges=np.linspace(low, high, int(bins) + 1),
        errors=errors,
        entries=int(result.get("entries", 0)),
        selected=int(result.get("selected", 0)),
        samples=samples,
    )
