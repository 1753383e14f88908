"""The set-wide pass's shortcuts against the plain rules they stand for (issue 13, annotate lever).

Each shortcut of scm/database.py and the modules it calls is compared, on generated inputs,
with a straightforward reading of the rule written here: the shortcut must give the same
answer, byte for byte, for every input (not only the shapes it was written for).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

import hivescan
from hivescan.hive.model import RawValue
from hivescan.hive.regtypes import REG_BINARY, REG_MULTI_SZ
from hivescan.scm.constants import SERVICE_USER_SERVICE, USER_INSTANCE_TYPES, USER_TEMPLATE_TYPES
from hivescan.scm.dependencies import DependencyGraph, _cycles, build_dependency_graph
from hivescan.scm.environment import Expansion, expand
from hivescan.scm.groups import GroupPlace, build_group_order, decode_tag_vector, group_place, tag_index
from hivescan.scm.imagepath import CommandLine, split_command_line, with_default_extension
from hivescan.testing.regf import multi_sz
from tests.conftest import shared_hive

# ---- %VAR% expansion: one scan with find(), as RtlExpandEnvironmentStrings_U reads the text


def _expand_by_scanning(text: str, lookup: Callable[[str], str | None]) -> Expansion:
    out: list[str] = []
    used: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(text):
        start = text.find("%", pos)
        if start < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:start])
        end = text.find("%", start + 1)
        if end < 0:
            out.append(text[start:])
            break
        name = text[start + 1 : end]
        value = lookup(name) if name else None
        if value is None:
            out.append(text[start : end + 1])
            if name:
                used.append((name, False))
        else:
            out.append(value)
            used.append((name, True))
        pos = end + 1
    return Expansion("".join(out), tuple(used))


percentish = st.text(alphabet=st.sampled_from(list("%aAbB\\ x")), max_size=30)


@given(percentish, st.dictionaries(st.sampled_from(["a", "B", "ab", "", " x"]), percentish, max_size=4))
def test_expand_is_the_scan_of_the_text(text: str, table: dict[str, str]) -> None:
    upper = {k.upper(): v for k, v in table.items()}

    def lookup(name: str) -> str | None:
        return upper.get(name.upper())

    assert expand(text, lookup) == _expand_by_scanning(text, lookup)


def test_expand_one_name_keeps_the_text_when_unknown() -> None:
    # the one-name shortcut returns the text itself when the name is unknown
    assert expand("%Nope%\\x.exe", lambda _n: None) == Expansion("%Nope%\\x.exe", (("Nope", False),))
    assert expand("a%%b", lambda _n: "never") == Expansion("a%%b", ())
    assert expand("%A%\\x", lambda _n: "C:") == Expansion("C:\\x", (("A", True),))


# ---- CreateProcess splitting: every blank-separated prefix listed, then the choice


def _split_by_listing(text: str) -> CommandLine:
    blank = " \t"
    line = text.lstrip(blank)
    if line.startswith('"'):
        return split_command_line(text)  # the quoted branch is not a shortcut
    whole = line.rstrip(blank)
    if not whole:
        return CommandLine("", None, False, (), 0)
    ends = [i for i in range(1, len(whole)) if whole[i] in blank and whole[i - 1] not in blank] + [len(whole)]
    prefixes = [whole[:end] for end in ends]
    chosen = next((i for i, p in enumerate(prefixes) if p[-4:].lower() == ".exe"), None)
    if chosen is None:
        chosen = next((i for i, p in enumerate(prefixes) if with_default_extension(p) == p), 0)
    args = whole[ends[chosen] :].lstrip(blank) or None
    if chosen == 0:
        return CommandLine(prefixes[0], args, False, (with_default_extension(prefixes[0]),), 0)
    candidates = tuple(with_default_extension(p) for p in prefixes)
    return CommandLine(prefixes[chosen], args, False, candidates, chosen, guessed=True)


@given(st.text(alphabet=st.sampled_from(list('ab \t"\\/.:exEX-')), max_size=40))
def test_split_is_the_listing_of_every_prefix(text: str) -> None:
    assert split_command_line(text) == _split_by_listing(text)


def test_split_shortcut_shapes() -> None:
    # the first word an .exe: no list; one word: no list; an .EXE keeps its spelling
    assert split_command_line("C:\\W\\svchost.exe  -k  netsvcs -p") == CommandLine(
        "C:\\W\\svchost.exe", "-k  netsvcs -p", False, ("C:\\W\\svchost.exe",), 0
    )
    assert split_command_line(" C:\\W\\a.EXE\t") == CommandLine("C:\\W\\a.EXE", None, False, ("C:\\W\\a.EXE",), 0)
    assert split_command_line("C:\\W\\tool") == CommandLine("C:\\W\\tool", None, False, ("C:\\W\\tool.exe",), 0)


# ---- dependency closures: shared between records vs walked one by one


def _graph(needs: list[tuple[int, ...]]) -> DependencyGraph:
    count = len(needs)
    return DependencyGraph(tuple(needs), (frozenset(),) * count, ((),) * count, ((),) * count)


@st.composite
def graphs(draw: st.DrawFn) -> DependencyGraph:
    count = draw(st.integers(min_value=1, max_value=12))
    acyclic = draw(st.booleans())
    needs = []
    for node in range(count):
        pool = list(range(node + 1, count)) if acyclic else list(range(count))
        chosen = draw(st.lists(st.sampled_from(pool), unique=True, max_size=4)) if pool else []
        needs.append(tuple(chosen))
    return _graph(needs)


@settings(max_examples=300)
@given(graphs(), st.data())
def test_shared_closures_are_each_records_walk(graph: DependencyGraph, data: st.DataObject) -> None:
    wanted = data.draw(st.lists(st.integers(min_value=0, max_value=len(graph.needs) - 1), unique=True))
    shared = graph.closures(wanted)
    assert list(shared) == wanted
    assert shared == {index: graph.closure(index) for index in wanted}


def test_closure_order_depth_first_with_a_diamond() -> None:
    # 0 needs 1 then 2; both need 3; 2 also needs 4: dependencies first, each once
    graph = _graph([(1, 2), (3,), (4, 3), (), ()])
    assert graph.closures([0, 2]) == {0: (3, 1, 4, 2), 2: (4, 3)}


def test_closure_with_a_cycle_is_walked_per_record() -> None:
    # 0 -> 1 -> 2 -> 1: the walk from 1 stops at 1 itself, the walk from 2 at 2
    graph = _graph([(1,), (2,), (1,)])
    assert graph.closures([0, 1, 2]) == {0: (2, 1), 1: (2,), 2: (1,)}


# ---- cycles: Tarjan with per-node lists vs the same walk over dicts


def _cycles_over_dicts(needs: tuple[tuple[int, ...], ...], live: list[bool]) -> list[tuple[int, ...]]:
    index_of: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    found: list[tuple[int, ...]] = []
    counter = 0
    for start in range(len(needs)):
        if not live[start] or start in index_of or not needs[start]:
            continue
        work = [(start, 0)]
        while work:
            node, pos = work[-1]
            if pos == 0:
                index_of[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if pos < len(needs[node]):
                work[-1] = (node, pos + 1)
                nxt = needs[node][pos]
                if live[nxt] and nxt not in index_of:
                    work.append((nxt, 0))
                elif live[nxt] and nxt in on_stack:
                    low[node] = min(low[node], index_of[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in needs[node]:
                    found.append(tuple(reversed(component)))
    return found


@settings(max_examples=300)
@given(graphs(), st.data())
def test_cycles_over_lists_are_the_walk_over_dicts(graph: DependencyGraph, data: st.DataObject) -> None:
    live = data.draw(st.lists(st.booleans(), min_size=len(graph.needs), max_size=len(graph.needs)))
    assert _cycles(graph.needs, live) == _cycles_over_dicts(graph.needs, live)


# ---- the closures kept from building the graph, on a real set


def test_closures_kept_by_the_graph_are_each_records_walk() -> None:
    """Windows 10's set (acyclic, ~220 records with dependencies): the closures the graph keeps
    from its build are the ones :meth:`DependencyGraph.closure` walks one by one."""
    with hivescan.open_hive(shared_hive("win10-dirty-SYSTEM")) as hive:
        records = hive.services()
    graph = build_dependency_graph(records)
    kept = graph.shared_closures
    assert len(kept) > 100
    assert kept == {index: graph.closure(index) for index in kept}
    for index, closure in kept.items():
        assert records[index].dependency_closure == tuple(records[i].name for i in closure)


# ---- GroupOrderList tag vectors: one unpack vs one int per tag


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=20))
def test_tag_vector_unpack_is_each_tag_read_alone(tail: bytes, count: int) -> None:
    data = struct.pack("<I", count) + tail
    tags, _notes = decode_tag_vector("G", RawValue("G", REG_BINARY, data))
    used = min(count, (len(data) - 4) // 4)
    assert tags == tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "little") for i in range(used))


# ---- group facts: per Group string once, the tag's index per record


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from(["Boot Bus", "boot bus", "PnP", "NDIS", "Ω"]), max_size=4),
    st.dictionaries(st.sampled_from(["Boot Bus", "PNP", "Other"]), st.lists(st.integers(0, 6), max_size=5), max_size=3),
    st.one_of(st.none(), st.sampled_from(["", "boot BUS", "pnp", "ndis", "ω", "Missing"])),
    st.one_of(st.none(), st.integers(0, 7)),
)
def test_group_place_and_tag_index_are_the_group_orders_answers(
    listed: list[str], vectors: dict[str, list[int]], group: str | None, tag: int | None
) -> None:
    order = build_group_order(
        RawValue("List", REG_MULTI_SZ, multi_sz(listed)),
        [
            RawValue(name, REG_BINARY, struct.pack(f"<I{len(tags)}I", len(tags), *tags))
            for name, tags in vectors.items()
        ],
    )
    place = group_place(group, order)
    if group is None:
        assert place == GroupPlace(None, None, ())
        return
    position = order.position(group)
    assert (place.known, place.position) == (position is not None if group else False, position)
    assert tag_index(place.vector, tag) == order.tag_position(group, tag)


def test_every_per_user_type_has_the_per_user_bit() -> None:
    # link_user_services skips records without SERVICE_USER_SERVICE before asking more
    assert all(t & SERVICE_USER_SERVICE for t in USER_TEMPLATE_TYPES | USER_INSTANCE_TYPES)
