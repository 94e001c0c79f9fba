"""Every policy rule, from the concern modules, in one registry.

Each rule takes one rendered variant and returns its violations, one line each, naming the object
(`Kind/name`) and the field. test_rendered.py requires zero for every shipped variant;
test_rules_catch_defects.py feeds each rule a broken copy and requires it to notice.
"""

from __future__ import annotations

import inspect
from types import ModuleType

from . import (
    availability_rules,
    catalogue_rules,
    llama_rules,
    monitoring_rules,
    network_rules,
    pod_security_rules,
)
from .manifest import Rule

CONCERNS: tuple[ModuleType, ...] = (
    pod_security_rules, network_rules, catalogue_rules, availability_rules, llama_rules, monitoring_rules
)
RULES: dict[str, Rule] = {rule.__name__: rule for concern in CONCERNS for rule in concern.RULES}


def defined_rules() -> list[Rule]:
    """Every public function of the concern modules that takes a Render and returns violations:
    what RULES must hold, each once. A rule left out of its module's RULES shows here, not there."""
    return [
        function
        for concern in CONCERNS
        for _, function in inspect.getmembers(concern, inspect.isfunction)
        if function.__module__ == concern.__name__
        and not function.__name__.startswith("_")
        and function.__annotations__ == {"render": "Render", "return": "list[str]"}
    ]
