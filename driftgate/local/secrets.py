"""``AWS::SecretsManager::Secret`` in moto, as CloudFormation creates it: a ``SecretString``, or one
generated from ``GenerateSecretString`` (whose fields are GetRandomPassword's; with
``SecretStringTemplate`` and ``GenerateStringKey``, the password goes into that JSON object)."""
from __future__ import annotations

import json
from typing import Any

import boto3

# GenerateSecretString's fields that GetRandomPassword takes under the same names.
PASSWORD_FIELDS = ("PasswordLength", "ExcludeCharacters", "ExcludeNumbers", "ExcludePunctuation",
                   "ExcludeUppercase", "ExcludeLowercase", "IncludeSpace", "RequireEachIncludedType")


def secret_string(client: Any, props: dict[str, Any]) -> str:
    if "SecretString" in props:
        return str(props["SecretString"])
    generate = props.get("GenerateSecretString", {})
    password = client.get_random_password(**{k: generate[k] for k in PASSWORD_FIELDS if k in generate})
    if "SecretStringTemplate" not in generate:
        return str(password["RandomPassword"])
    if "GenerateStringKey" not in generate:
        raise ValueError("GenerateSecretString: SecretStringTemplate needs GenerateStringKey (as CloudFormation does)")
    document = json.loads(generate["SecretStringTemplate"])
    return json.dumps({**document, generate["GenerateStringKey"]: password["RandomPassword"]})


def create_secret(region: str, name: str, props: dict[str, Any]) -> str:
    """Creates the secret; returns its ARN (what ``Ref`` of the resource gives)."""
    client = boto3.client("secretsmanager", region_name=region)
    kwargs = {"Name": props.get("Name") or name, "SecretString": secret_string(client, props)}
    kwargs |= {k: props[k] for k in ("Description", "KmsKeyId") if props.get(k)}
    return str(client.create_secret(**kwargs)["ARN"])
