"""The retrain state machine and the task models (``functions/pipeline/models.py``) agree.

Read from the synthesized definition, in both approval modes:

- every Lambda and SageMaker task state has its models in ``TASKS``, and each Lambda task's handler
  validates its event with that input model;
- every JSONPath a state reads (Parameters, Choice variables) exists on the JSON schema of what
  wrote it: the execution's input (``PipelineInput``), a task's output model at its ``ResultPath``,
  a Pass state's ``$.status`` or a Catch's ``$.error``; a Choice compares with a value the schema
  allows;
- a Lambda task's Parameters are exactly its input model's fields, each of the type it reads;
- FinishRun's ``RunState`` (the whole state) has the same schema, field by field, as the writers;
- what operators, the report, the demo and the tests read from the run holds too.

So renaming a field breaks this test instead of a run.
"""
from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from typing import Any, Literal, get_args

import pytest
from pydantic import TypeAdapter

from driftgate.local.template import synthesize
from functions.pipeline.models import TASKS, PipelineInput, RunState, RunStatus, TaskError

Schema = dict[str, Any]
# Context object paths the definition reads, and what they hold.
CONTEXT: dict[str, Schema] = {
    "$$.Execution.Id": {"type": "string"},
    "$$.Execution.Name": {"type": "string"},
    "$$.Task.Token": {"type": "string"},
    "$$.Execution.Input": {"type": "object"},
}
# Read outside the definition: the notifications operators receive (NotifyOutcome / NotifyFailure
# publish $.outcome / $.failure), the run records the report renders (FinishRun stores the dataset
# and the gate), the demo and the tests (the execution's output is the whole state).
CONSUMERS = [
    "$.outcome.status", "$.outcome.execution_arn", "$.outcome.message", "$.outcome.promoted_version",
    "$.outcome.gate.decision", "$.outcome.cooldown_until",
    "$.failure.status", "$.failure.execution_arn", "$.failure.message", "$.failure.cause",
    "$.failure.production_moved_to",
    "$.dataset.enough", "$.dataset.available_records", "$.dataset.required_records", "$.dataset.message",
    "$.dataset.manifest.counts", "$.dataset.manifest.sha256", "$.dataset.train_uri", "$.dataset.eval_uri",
    "$.dataset.golden_uri",
    "$.gate.decision", "$.gate.reasons", "$.gate.mean_improvement", "$.gate.ci_low", "$.gate.ci_high",
    "$.gate.n_pairs", "$.gate.guards.name", "$.gate.guards.passed", "$.gate.guards.champion",
    "$.gate.guards.challenger", "$.gate.guards.detail",
    "$.registered.version", "$.promoted.version", "$.approval.comment", "$.status", "$.reason",
    # rollout=canary: what the notification, the tests and GET /canary's readers take from a run.
    "$.outcome.canary.decision", "$.outcome.canary.p_value", "$.canary.decision", "$.canary.ci",
    "$.canary.n_control", "$.canary.n_treatment", "$.canary.looks", "$.staging.canary_id", "$.retired.status",
]
_STATE_PATH = re.compile(r"(?<!\$)\$\.[A-Za-z0-9_.]+")


# -- the definition ---------------------------------------------------------------------------------
def _placeholder(token: dict[str, Any]) -> str:
    if "Fn::GetAtt" in token:
        return "GetAtt:" + ".".join(token["Fn::GetAtt"])
    return "Ref:" + str(token.get("Ref"))


@pytest.fixture(scope="module", params=["auto", "manual"])
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "auto":
        shared: dict[str, Any] = request.getfixturevalue("synthesized_template")
        return shared
    return synthesize({"driftgate:approval_mode": "manual"})


@pytest.fixture(scope="module")
def states(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else _placeholder(p) for p in parts))
    found: dict[str, Any] = definition["States"]
    return found


def service(state: dict[str, Any]) -> str:
    resource = str(state.get("Resource", ""))
    if resource.startswith("GetAtt:"):
        return "lambda"  # a LambdaInvoke with payload_response_only: the function's ARN
    return resource.split(":states:::")[-1].split(":")[0]


def lambda_payload(state: dict[str, Any]) -> dict[str, Any]:
    parameters: dict[str, Any] = state.get("Parameters", {})
    return parameters["Payload"] if "FunctionName" in parameters else parameters


def function_logical_id(state: dict[str, Any]) -> str:
    resource = str(state["Resource"])
    arn = resource if resource.startswith("GetAtt:") else state["Parameters"]["FunctionName"]
    return arn.removeprefix("GetAtt:").removesuffix(".Arn")


def reads(value: Any) -> Iterator[tuple[str, str]]:
    """(parameter, JSONPath) for every ``Key.$`` in Parameters, intrinsic functions' paths included."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(".$"):
                expression = str(item)
                paths = ([expression] if expression in ("$", *CONTEXT) or expression.startswith("$.")
                         else _STATE_PATH.findall(expression))
                yield from ((key[:-2], path) for path in paths)
            else:
                yield from reads(item)
    elif isinstance(value, list):
        for item in value:
            yield from reads(item)


def rules(choice: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for rule in choice.get("Choices", []):
        yield from _flatten_rule(rule)


def _flatten_rule(rule: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for nested in (*rule.get("And", []), *rule.get("Or", []), *([rule["Not"]] if "Not" in rule else [])):
        yield from _flatten_rule(nested)
    if "Variable" in rule:
        yield rule


# -- schemas -------------------------------------------------------------------------------------------
def schema_of(model: Any, mode: Literal["validation", "serialization"] = "serialization") -> Schema:
    """The JSON schema of a model or an annotated union, ``$ref``s inlined (by alias, as dumped)."""
    raw = TypeAdapter(model).json_schema(mode=mode)
    defs = raw.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = inline(defs[node["$ref"].removeprefix("#/$defs/")])
                return {**target, **{k: inline(v) for k, v in node.items() if k != "$ref"}}
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: Schema = inline(raw)
    return inlined


def branches(schema: Schema) -> list[Schema]:
    """The alternatives of a union (anyOf / oneOf, nested), or the schema itself."""
    alternatives = schema.get("anyOf") or schema.get("oneOf")
    if not alternatives:
        return [schema]
    return [leaf for alternative in alternatives for leaf in branches(alternative)]


def at(schema: Schema, parts: list[str]) -> list[Schema]:
    """The schemas found at ``parts`` below ``schema``, across union branches; lists are walked
    into (a JSONPath on a list maps over its items). A ``dict[str, Any]`` field has no
    properties: a path into one is not a path the models promise."""
    if not parts:
        return [schema]
    found: list[Schema] = []
    for branch in branches(schema):
        if branch.get("type") == "array" and "items" in branch:
            found += at(branch["items"], parts)
        elif parts[0] in branch.get("properties", {}):
            found += at(branch["properties"][parts[0]], parts[1:])
    return found


def kinds(schemas: list[Schema]) -> set[str]:
    return {str(leaf.get("type", "any")) for schema in schemas for leaf in branches(schema)}


def values(schemas: list[Schema]) -> set[Any] | None:
    """The values allowed (const / enum), or None when any value of the type is."""
    allowed: set[Any] = set()
    for leaf in (leaf for schema in schemas for leaf in branches(schema)):
        if "const" in leaf:
            allowed.add(leaf["const"])
        elif "enum" in leaf:
            allowed.update(leaf["enum"])
        else:
            return None
    return allowed


def normalized(schema: Any) -> Any:
    """A schema without its documentation and nullability, for comparing shapes."""
    if isinstance(schema, dict):
        if "anyOf" in schema:
            kept = [s for s in schema["anyOf"] if s != {"type": "null"}]
            if len(kept) == 1:
                return normalized({**{k: v for k, v in schema.items() if k != "anyOf"}, **kept[0]})
        return {k: normalized(v) for k, v in schema.items() if k not in ("title", "description", "default")}
    if isinstance(schema, list):
        return [normalized(v) for v in schema]
    return schema


def writers(states: dict[str, Any]) -> dict[str, list[Schema]]:
    """Top-level key of the state → the schema of each thing that writes it."""
    written: dict[str, list[Schema]] = {key: [value] for key, value in
                                        schema_of(PipelineInput)["properties"].items()}
    for name, state in states.items():
        for catch in state.get("Catch", []):
            written.setdefault(catch["ResultPath"].removeprefix("$."), []).append(schema_of(TaskError))
        if state["Type"] not in ("Task", "Pass"):
            continue
        result_path = state.get("ResultPath", "$")
        if result_path is None:  # the result is discarded (the notifications)
            continue
        assert re.fullmatch(r"\$\.\w+", result_path), f"{name} writes {result_path}: a top-level key is expected"
        key = result_path.removeprefix("$.")
        if state["Type"] == "Pass":
            written.setdefault(key, []).append({"type": "string", "const": state["Result"]})
        elif state["Type"] == "Task":
            written.setdefault(key, []).append(schema_of(TASKS[name].output))
    return written


def resolve(path: str, written: dict[str, list[Schema]]) -> list[list[Schema]]:
    """What ``path`` holds, per writer of its top-level key ([] for a writer it is not on)."""
    key, *rest = path.removeprefix("$.").split(".")
    return [at(schema, rest) for schema in written.get(key, [])]


def missing(path: str, written: dict[str, list[Schema]]) -> str | None:
    found = resolve(path, written)
    if not found:
        return f"{path}: no state writes {path.split('.')[1]!r}"
    top = ".".join(path.split(".")[:2])
    if not any(found):
        return f"{path}: not on the model written at {top}"
    if not all(found):
        return f"{path}: not on every model written at {top}"
    return None


# -- the tests ------------------------------------------------------------------------------------------
def test_every_task_state_has_its_models(states: dict[str, Any]) -> None:
    tasks = {name: service(state) for name, state in states.items() if state["Type"] == "Task"}
    modelled = {name for name, kind in tasks.items() if kind in ("lambda", "sagemaker")}
    assert modelled <= set(TASKS), f"task states without models in TASKS: {sorted(modelled - set(TASKS))}"
    assert set(TASKS) - modelled <= {"RequestApproval"}  # only in manual mode
    for name in set(tasks) - modelled:  # SNS notifications publish a report and keep nothing
        assert tasks[name] == "sns" and states[name]["ResultPath"] is None, name
    for name in modelled:
        assert (TASKS[name].input is None) == (tasks[name] == "sagemaker"), name
        if "ResultSelector" in states[name]:  # what a SageMaker task keeps of DescribeTrainingJob
            kept = {key.removesuffix(".$") for key in states[name]["ResultSelector"]}
            assert kept == set(schema_of(TASKS[name].output)["properties"]), name


def test_each_handler_validates_with_its_input_model(states: dict[str, Any], template: dict[str, Any]) -> None:
    for name, state in states.items():
        if state["Type"] != "Task" or service(state) != "lambda":
            continue
        handler = template["Resources"][function_logical_id(state)]["Properties"]["Handler"]
        module = importlib.import_module(handler.rsplit(".", 1)[0])
        model = TASKS[name].input
        assert model is not None and getattr(module, model.__name__, None) is model, (
            f"{handler} does not use {model.__name__ if model else None}, the input model of {name}")


def test_every_path_the_definition_reads_is_on_a_model(states: dict[str, Any]) -> None:
    written = writers(states)
    problems = []
    for name, state in states.items():
        for _, path in reads(state.get("Parameters", {})):
            if path.startswith("$.") and (problem := missing(path, written)):
                problems.append(f"{name} reads {problem}")
        for rule in rules(state):
            path = rule["Variable"]
            if problem := missing(path, written):
                problems.append(f"{name} tests {problem}")
                continue
            found = [schema for per_writer in resolve(path, written) for schema in per_writer]
            for operator, expected in rule.items():
                if operator in ("BooleanEquals", "StringEquals", "NumericEquals"):
                    allowed = values(found)
                    kind = {"BooleanEquals": "boolean", "StringEquals": "string"}.get(operator)
                    if (allowed is not None and expected not in allowed) or (kind and kind not in kinds(found)):
                        problems.append(f"{name} compares {path} with {expected!r}; the models allow "
                                        f"{sorted(map(str, allowed)) if allowed is not None else kinds(found)}")
    assert not problems, "\n".join(problems)


def test_lambda_parameters_are_the_input_models_fields(states: dict[str, Any]) -> None:
    written = writers(states)
    problems = []
    for name, state in states.items():
        if state["Type"] != "Task" or service(state) != "lambda":
            continue
        model = TASKS[name].input
        assert model is not None
        fields = schema_of(model, "validation")
        payload = lambda_payload(state)
        sent = {key.removesuffix(".$") for key in payload}
        if sent != set(fields["properties"]):
            problems.append(f"{name} sends {sorted(sent)}; {model.__name__} reads {sorted(fields['properties'])}")
        unset = set(fields.get("required", [])) - sent
        if unset:
            problems.append(f"{name} does not send the required {sorted(unset)}")
        for parameter, path in reads(payload):
            if parameter not in fields["properties"] or path == "$":
                continue  # reported above / FinishRun's whole state: see the next test
            expected = fields["properties"][parameter]
            if path in CONTEXT:
                got = [CONTEXT[path]]
            else:
                got = [schema for per_writer in resolve(path, written) for schema in per_writer]
            got_kinds, want = kinds(got) - {"null"}, kinds([expected]) - {"null"}
            if got_kinds and not got_kinds <= want | {"any"} and "any" not in want:
                problems.append(f"{name}.{parameter} is {sorted(want)}; {path} holds {sorted(got_kinds)}")
            objects = [normalized(s) for s in got if s.get("properties")]
            if objects and any(normalized(s).get("properties") != normalized(expected).get("properties")
                               for s in objects):
                problems.append(f"{name}.{parameter} does not read the object {path} holds")
    assert not problems, "\n".join(problems)


def test_finish_run_reads_the_state_the_writers_leave(states: dict[str, Any]) -> None:
    finish = lambda_payload(states["FinishRun"])
    assert finish["state.$"] == "$"
    written = writers(states)
    run_state = schema_of(RunState, "validation")["properties"]
    for key, expected in run_state.items():
        assert key in written, f"RunState.{key}: no state writes {key!r}"
        if key == "status":
            continue  # Pass states: checked below
        for schema in written[key]:
            assert normalized(expected) == normalized(schema), f"RunState.{key} is not what is written at $.{key}"
    statuses = {state["Result"] for state in states.values() if state.get("ResultPath") == "$.status"}
    assert statuses <= set(get_args(RunStatus)), f"Pass states set {sorted(statuses)}"


def test_what_operators_the_report_and_the_tests_read_is_on_a_model(states: dict[str, Any]) -> None:
    written = writers(states)
    problems = [problem for path in CONSUMERS if (problem := missing(path, written))
                and not (path.startswith("$.approval.") and "RequestApproval" not in states)]
    assert not problems, "\n".join(problems)
    assert lambda_payload(states["NotifyOutcome"])["Message.$"] == "$.outcome"
    assert lambda_payload(states["NotifyFailure"])["Message.$"] == "$.failure"


def test_the_schema_walk_catches_a_renamed_field(states: dict[str, Any]) -> None:
    """The checks above would pass on anything if the walk found nothing wrong by construction."""
    written = writers(states)
    assert missing("$.dataset.train_uri", written) is None
    assert missing("$.dataset.train_url", written) is not None
    assert missing("$.gate.decision.extra", written) is not None
    assert missing("$.gate.config.seed", written) is not None  # inside an open-ended dict
    assert missing("$.nothing", written) is not None
