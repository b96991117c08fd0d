"""The OpenAPI document is valid and complete enough to generate a client from, unedited."""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from pydantic import BaseModel

from langproc.api import openapi, schemas
from langproc.api.app import create_app
from langproc.settings import Settings

METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
ERROR_MODELS = {
    "#/components/schemas/ErrorResponse",
    "#/components/schemas/ValidationErrorResponse",
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(_env_file=None)).openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(spec).validate()


def test_operations_have_summaries_and_stable_unique_ids(spec: dict[str, Any]) -> None:
    ids = [str(operation.get("operationId")) for _, _, operation in operations(spec)]
    for method, path, operation in operations(spec):
        assert operation.get("summary", "").strip(), f"{method} {path} has no summary"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", operation.get("operationId", "")), (
            f"{method} {path} needs a snake_case operation_id, not FastAPI's generated one"
        )
    assert len(ids) == len(set(ids)), f"duplicate operationIds: {sorted(ids)}"
    expected = {
        "create_sourcefile",
        "list_sourcefiles",
        "get_sourcefile",
        "retry_sourcefile",
        "cancel_sourcefile",
        "delete_sourcefile",
        "get_sourcefile_image",
        "healthz",
        "readyz",
    }
    assert expected <= set(ids), "operationIds are part of the contract: keep them"


def test_error_statuses_are_documented_with_the_shared_error_models(
    spec: dict[str, Any],
) -> None:
    for method, path, operation in operations(spec):
        label = f"{method} {path}"
        responses = operation["responses"]
        assert any(code.startswith(("2", "3")) for code in responses), label
        if path.startswith("/api/"):
            assert {"401", "503"} <= set(responses), f"{label}: auth and database errors"
            assert operation.get("security"), f"{label}: declares how to authenticate"
        if "{" in path:
            assert {"404", "422"} <= set(responses), f"{label}: unknown or malformed id"
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in responses, f"{label}: malformed input"
        for code, response in responses.items():
            assert response.get("description", "").strip(), f"{label} {code}"
            if not code.startswith(("4", "5")):
                continue
            media = response.get("content", {}).get("application/json")
            assert media is not None, f"{label} {code}: errors are JSON"
            assert media["schema"].get("$ref") in ERROR_MODELS, f"{label} {code}: shared model"
            assert (
                "example" in media
                or "examples" in media
                or media["schema"]["$ref"].endswith("/ErrorResponse")
            ), f"{label} {code}: an example (ErrorResponse's own is generic)"


def test_success_bodies_have_schemas(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        for code, response in operation["responses"].items():
            if not code.startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                assert media.get("schema"), f"{method} {path} {code} {media_type}"
                if media_type == "application/json":
                    assert media["schema"] != {}, f"{method} {path} {code}: a response model"


def test_routes_document_what_they_answer(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    create = paths["/api/sourcefiles"]["post"]
    assert {"400", "401", "413", "415", "422", "503"} <= set(create["responses"])
    assert set(create["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "Location" in create["responses"]["202"]["headers"]
    assert "409" in paths["/api/sourcefiles/{sourcefile_id}/retry"]["post"]["responses"]
    image = paths["/api/sourcefiles/{sourcefile_id}/image"]["get"]
    assert {"200", "206", "304", "416"} <= set(image["responses"])
    assert "image/png" in image["responses"]["200"]["content"]
    headers = {p["name"] for p in image["parameters"] if p["in"] == "header"}
    assert headers == {"Range", "If-Range", "If-None-Match"}
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearer"]["description"],
    }
    assert schemes["access_token"]["in"] == "query"


@pytest.mark.parametrize(
    "model", [schemas.SourcefileSummary, schemas.SourcefileRead, schemas.SourcefileList]
)
def test_model_examples_are_valid_instances(model: type[BaseModel]) -> None:
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)


def test_error_examples_match_their_models() -> None:
    for code in [*openapi.ERROR_DESCRIPTIONS, 422]:
        for response in openapi.error_responses(code).values():
            media = response["content"]["application/json"]
            values = (
                [media["example"]]
                if "example" in media
                else [e["value"] for e in media["examples"].values()]
            )
            for value in values:
                response["model"].model_validate(value)
