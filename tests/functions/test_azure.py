"""Azure specifics: the bindings the Functions host reads from the v2 app (names, triggers, schedules, auth)."""

from __future__ import annotations

import json

from tests.functions.clouds import Azure


def test_bindings_are_what_the_host_and_terraform_expect():
    registered = Azure().registered
    bindings = {fn.get_function_name(): json.loads(fn.get_function_json())["bindings"] for fn in registered}
    assert set(bindings) == {"export_timer", "merge_blob", "catch_up_timer", "metrics_http"}
    assert bindings["export_timer"][0]["schedule"] == "%KUBEBILL_EXPORT_SCHEDULE%"
    assert bindings["catch_up_timer"][0]["schedule"] == "%KUBEBILL_CATCH_UP_SCHEDULE%"
    assert bindings["merge_blob"][0]["type"] == "eventGridTrigger"
    http = bindings["metrics_http"][0]
    assert (http["type"], http["authLevel"], http["route"], http["methods"]) == (
        "httpTrigger",
        "FUNCTION",
        "metrics",
        ["GET"],
    )
