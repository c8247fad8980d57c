"""Lifecycles (e-CMR, CIM/SMGS) by the exact JSON they are stored as, parsed once per process.

A signing step reads the document's lifecycle, checks the step against it and stores the next
lifecycle. Validating the stored JSON into the frozen model was the largest single cost of a
step on a signing node (a tenth of its CPU), and the next step on a document usually meets the
very JSON the previous step wrote. The cache maps that text to its model: a step that wrote a
lifecycle remembers it, a read of the same text takes the model as it is. The models are frozen
(immutable), and a text always validates to the same model, so a hit is exactly what parsing
would give; anything else is parsed (and validated) as before. The tenth is from a profile of
bench/api.py's signing node; no separate A/B figure was taken for the cache alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Final, Generic, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

#: Lifecycles kept per model, the most recently used ones (a few MB at most).
DEFAULT_SIZE: Final = 512


class ParsedLifecycles(Generic[M]):
    """A bounded, thread-safe map from a lifecycle's stored JSON to its validated model."""

    def __init__(self, model: type[M], size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError("a lifecycle cache holds at least one lifecycle")
        config = model.model_config
        if not config.get("frozen"):
            raise ValueError(f"{model.__name__} is not frozen: a cached model could change")
        self._model = model
        self._size = size
        self._items: OrderedDict[str, M] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, stored: str) -> M:
        """The model `stored` validates to (pydantic's ValidationError if it does not)."""
        with self._lock:
            hit = self._items.get(stored)
            if hit is not None:
                self._items.move_to_end(stored)
                return hit
        parsed = self._model.model_validate_json(stored)
        self.remember(stored, parsed)
        return parsed

    def remember(self, stored: str, model: M) -> None:
        """Note that `stored` is `model`'s JSON (as `model.model_dump_json()` gave it)."""
        with self._lock:
            self._items[stored] = model
            self._items.move_to_end(stored)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
