"""Find a node by id, name or alias, forgiving case, accents and punctuation.

"xian", "Xi'an", "XI AN" and "CNXIY"-style ids all find Xi'an; "İstanbul" and "istanbul" find
Istanbul. A name that matches nothing gets the closest names as suggestions.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from kervan.errors import UnknownPlaceError
from kervan.network.model import Network, Node

# Letters that do not decompose into a base letter plus an accent.
_FOLD = str.maketrans({"ı": "i", "ə": "e", "ø": "o", "ł": "l", "ß": "ss", "đ": "d", "æ": "ae"})


def normalise(name: str) -> str:
    """Case-, accent- and punctuation-free form of a place name ("Xi'an" -> "xian")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_FOLD))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z\u0400-\u04ff\u4e00-\u9fff]+", "", bare.translate(_FOLD))


_GENERIC = re.compile(
    r"\(.*?\)|\b(sea |dry |river )?(port|station|terminal|logistics cent(re|er)|border crossing)\b",
    re.IGNORECASE,
)


def _bare_name(name: str) -> str:
    """A name without what kind of place it is: "Aktau port" -> "Aktau", "Halkali (Istanbul)"."""
    bare = _GENERIC.sub(" ", name).strip()
    return bare or name


class PlaceIndex:
    """Resolves place names on one network."""

    def __init__(self, network: Network) -> None:
        self._network = network
        self._by_key: dict[str, list[Node]] = {}
        for node in network.nodes.values():
            for label in (node.id, node.name, _bare_name(node.name), *node.aliases):
                nodes = self._by_key.setdefault(normalise(label), [])
                if node not in nodes:
                    nodes.append(node)
        self._names = sorted({n.name for n in network.nodes.values()})

    def resolve(self, query: str) -> Node:
        """The node `query` names; raises UnknownPlaceError with the closest names if none.

        An exact id wins; otherwise a name or alias; otherwise the start of a name that only one
        place has ("Aktau" for "Aktau port"). A name shared by several nodes resolves to the first
        in dataset order.
        """
        exact = self._network.nodes.get(query.strip().upper())
        if exact is not None:
            return exact
        key = normalise(query)
        if key and key in self._by_key:
            return self._by_key[key][0]
        # "Aktau" for "Aktau port": a start of a name that only one place has.
        starting = {n.id: n for k, ns in self._by_key.items() if k.startswith(key) for n in ns}
        if len(key) >= 3 and len(starting) == 1:
            return next(iter(starting.values()))
        raise UnknownPlaceError(query, self.suggest(query))

    def suggest(self, query: str, limit: int = 5) -> list[str]:
        """Up to `limit` node names closest to `query`."""
        key = normalise(query)
        keys = difflib.get_close_matches(key, list(self._by_key), n=limit * 2, cutoff=0.6)
        prefixed = [k for k in self._by_key if key and k.startswith(key)]
        names: list[str] = []
        for k in [*prefixed, *keys]:
            for node in self._by_key[k]:
                if node.name not in names:
                    names.append(node.name)
        return names[:limit]

    def search(self, text: str, limit: int = 10) -> list[Node]:
        """Nodes whose name, alias or id starts with or contains `text` (search as you type)."""
        key = normalise(text)
        if not key:
            return []
        starts = [n for k, ns in self._by_key.items() if k.startswith(key) for n in ns]
        contains = [n for k, ns in self._by_key.items() if key in k for n in ns]
        out: list[Node] = []
        for node in [*starts, *contains]:
            if node not in out:
                out.append(node)
        return out[:limit]
