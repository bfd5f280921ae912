"""The local stack: AWS resources created from `template.yaml`'s own definitions, on moto.

moto cannot expand the SAM transform or run Lambda code, so this module reads the template,
creates its tables, bucket, secrets and (when its Condition holds) the console's user pool with
boto3 against whatever endpoint the clients point at (moto in-process or moto server), and
builds each function's environment the way CloudFormation would resolve it. There is no second, hand-written copy of any resource.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
REGION = "us-east-1"
NO_VALUE = "AWS::NoValue"  # Ref AWS::NoValue: the list element or property it stands for is left out
ACCOUNT = "123456789012"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as cfn-lint reads it: short tags (!Ref, !GetAtt A.B, ...) in their long form."""
    from cfnlint.decode import cfn_yaml

    template: dict[str, Any] = cfn_yaml.load(str(path))
    return template


@dataclass
class Resolver:
    """Resolves the intrinsics the template uses, with local names for its resources, and
    evaluates its Conditions the way CloudFormation does for the given parameters."""

    template: dict[str, Any]
    parameters: dict[str, str]
    names: dict[str, str] = field(default_factory=dict)
    stack_name: str = "dlr-vault-local"

    def parameter(self, name: str) -> str:
        if name in self.parameters:
            return str(self.parameters[name])
        default = self.template["Parameters"][name].get("Default")
        if default is None:
            raise KeyError(f"template parameter {name} has no default: pass it")
        return str(default)

    def arn(self, logical: str) -> str:
        kind = self.template["Resources"][logical]["Type"]
        name = self.names[logical]
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::Cognito::UserPool": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
        }.get(kind, name)  # a KMS key's name is already its ARN

    def condition(self, name: str) -> bool:
        """A template Condition, evaluated with this stack's parameters."""
        return bool(self._evaluate(self.template["Conditions"][name]))

    def _evaluate(self, value: Any) -> Any:
        """A condition's operand: the boolean functions, Fn::Join over a list parameter, else a value."""
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), *_ = value.items()
            if function == "Condition":
                return self.condition(argument)
            if function == "Fn::Join":
                items = self(argument[1])
                return argument[0].join(items.split(",") if isinstance(items, str) else items)
            if function == "Fn::Equals":
                return str(self._evaluate(argument[0])) == str(self._evaluate(argument[1]))
            operations = {"Fn::Not": lambda a: not a, "Fn::And": lambda *a: all(a), "Fn::Or": lambda *a: any(a)}
            if function in operations:
                return operations[function](*[self._evaluate(a) for a in argument])
        return self(value)

    def exists(self, logical: str) -> bool:
        """Whether `logical` would be created: it has no Condition, or its Condition holds."""
        condition = self.template["Resources"][logical].get("Condition")
        return condition is None or self.condition(condition)

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": self.stack_name,
            "AWS::URLSuffix": "amazonaws.com",
            NO_VALUE: NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return self.parameter(name)
        return self.names[name]

    def __call__(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved == NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in map(self._resolve, value) if v != NO_VALUE]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self.ref(value["Ref"])
        if set(value) == {"Fn::If"}:
            name, when_true, when_false = value["Fn::If"]
            return self._resolve(when_true if self.condition(name) else when_false)
        if set(value) == {"Fn::Select"}:
            index, items = value["Fn::Select"]
            return self._resolve(items)[int(index)]
        if set(value) == {"Fn::Split"}:
            separator, text = value["Fn::Split"]
            return str(self._resolve(text)).split(separator)
        if set(value) == {"Fn::GetAtt"}:
            logical, attribute = value["Fn::GetAtt"]
            return self.arn(logical) if attribute == "Arn" else self.names[logical]
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"]
            while "${" in text:
                start = text.index("${")
                end = text.index("}", start)
                token = text[start + 2 : end]
                logical, _, attribute = token.partition(".")
                replacement = self.arn(logical) if attribute == "Arn" else self.ref(token)
                text = text[:start] + replacement + text[end + 1 :]
            return text
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v != NO_VALUE}


def resources_of(template: dict[str, Any], kind: str, resolver: Resolver | None = None) -> dict[str, dict[str, Any]]:
    """The template's resources of `kind`; with `resolver`, only those whose Condition holds.
    `Fn::ForEach::` entries (the API's per-consumer keys and usage plans) expand to API Gateway
    resources, which the local stack does not create."""
    return {
        k: v
        for k, v in template["Resources"].items()
        if not k.startswith("Fn::ForEach::") and v["Type"] == kind and (resolver is None or resolver.exists(k))
    }


def resources_present(resolver: Resolver, kind: str) -> dict[str, dict[str, Any]]:
    """The resources of `kind` CloudFormation would create with the resolver's parameters."""
    return resources_of(resolver.template, kind, resolver)


# Every optional part on (with a customer managed key), for checks that must see them all.
EVERYTHING_ON = {
    "EventsEnabled": "true",
    "EventsQueueEnabled": "true",
    "BulkCountersEnabled": "true",
    "WebhookUrl": "https://hooks.example.com/dlr",
    "SearchIndexes": "all",
    "ConsoleEnabled": "true",
    "PointInTimeRecovery": "true",
    "ObjectLockDays": "30",
    "PollIntervalSeconds": "5",
    "ApiAllowedSourceIps": "203.0.113.0/24",
}


def expand_template(parameters: dict[str, str]) -> dict[str, Any]:
    """The CloudFormation that `sam deploy` would create from template.yaml with these parameters:
    AWS::LanguageExtensions (as sam's --language-extensions expands it), then the SAM transform,
    offline (code locations stand in; managed policies are not looked up)."""
    import copy

    from samcli.lib.cfn_language_extensions.api import process_template
    from samcli.lib.cfn_language_extensions.models import PseudoParameterValues
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, Any]:
            return {}

    source = copy.deepcopy(load_template())
    for resource in source["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if isinstance(resource, dict) and key in resource.get("Properties", {}):
                resource["Properties"][key] = "s3://local/code.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    values = {"InfobipBaseUrl": "https://x.api.infobip.com", "InfobipApiKeySecret": "s", **parameters}
    pseudo = PseudoParameterValues(region=REGION, account_id=ACCOUNT, stack_name="dlr-vault", partition="aws")
    expanded: dict[str, Any] = transform(process_template(source, values, pseudo), values, NoManagedPolicies())
    return expanded


def create_resources(resolver: Resolver, clients: Any, prefix: str = "dlr-vault-local") -> dict[str, str]:
    """Create every KMS key, table, bucket and secret the template defines (those whose Condition
    holds for these parameters); returns logical id -> name."""
    template = resolver.template
    ddb, s3, sm = clients("dynamodb"), clients("s3"), clients("secretsmanager")
    for logical, resource in resources_of(template, "AWS::KMS::Key").items():
        if resolver.exists(logical):
            key = clients("kms").create_key(Description=resolver(resource["Properties"]["Description"]))
            resolver.names[logical] = key["KeyMetadata"]["Arn"]
    for logical, resource in resources_of(template, "AWS::DynamoDB::Table", resolver).items():
        name = resolver.names.setdefault(logical, f"{prefix}-{logical}")
        props = resolver(resource["Properties"])
        if "SSESpecification" in props:  # CloudFormation spells it SSEEnabled, the API Enabled
            sse = props["SSESpecification"]
            props["SSESpecification"] = {"Enabled": sse.pop("SSEEnabled"), **sse}
        if "StreamSpecification" in props:  # the API also wants StreamEnabled
            props["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        ddb.create_table(
            TableName=name,
            **{
                k: props[k]
                for k in (
                    "AttributeDefinitions",
                    "KeySchema",
                    "GlobalSecondaryIndexes",
                    "BillingMode",
                    "TableClass",
                    "SSESpecification",
                    "DeletionProtectionEnabled",
                    "StreamSpecification",
                )
                if k in props
            },
        )
        if "TimeToLiveSpecification" in props:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        if props.get("PointInTimeRecoverySpecification"):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=props["PointInTimeRecoverySpecification"])
    for logical, resource in resources_of(template, "AWS::S3::Bucket", resolver).items():
        name = resolver.names.setdefault(logical, f"{prefix}-{logical}".lower())
        props = resolver(resource["Properties"])
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")))
        if "ObjectLockConfiguration" in props:
            lock = props["ObjectLockConfiguration"]
            lock["Rule"]["DefaultRetention"]["Days"] = int(lock["Rule"]["DefaultRetention"]["Days"])
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "BucketEncryption" in props:
            rules = [  # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault
                {
                    "ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"],
                    "BucketKeyEnabled": r.get("BucketKeyEnabled", False),
                }
                for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    # AWS::S3::BucketPolicy is not applied: moto does not evaluate bucket policies, and the TLS-only
    # statement would refuse the local endpoints' plain HTTP on 127.0.0.1. tests/unit/test_template.py
    # checks the policies; the collector's side of write-once raw/ (If-None-Match) runs on moto.
    for logical, resource in resources_of(template, "AWS::SecretsManager::Secret", resolver).items():
        name = resolver.names.setdefault(logical, f"{prefix}/{logical}")
        props = resolver(resource["Properties"])
        length = props.get("GenerateSecretString", {}).get("PasswordLength", 32)
        key = {"KmsKeyId": props["KmsKeyId"]} if "KmsKeyId" in props else {}
        sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(length)[:length], **key)
    create_user_pools(resolver, clients, prefix)
    _create_fan_out(resolver, clients, prefix)
    return resolver.names


def create_user_pools(resolver: Resolver, clients: Any, prefix: str) -> None:
    """The template's Cognito user pools and app clients (the console's), if their Condition holds;
    their names are the ids Cognito gives them, as `!Ref` would return."""
    template, cognito = resolver.template, None
    for kind in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"):
        for logical, resource in resources_of(template, kind).items():
            if not resolver.exists(logical):
                continue
            cognito = cognito or clients("cognito-idp")
            props = resolver(resource.get("Properties", {}))
            if kind == "AWS::Cognito::UserPool":
                props["PoolName"] = f"{prefix}-{logical}"
                props.pop("UserPoolName", None)
                resolver.names[logical] = cognito.create_user_pool(**props)["UserPool"]["Id"]
            else:
                resolver.names[logical] = cognito.create_user_pool_client(**props)["UserPoolClient"]["ClientId"]


def function_environment(resolver: Resolver, function: str) -> dict[str, str]:
    """The environment CloudFormation would give `function`: Globals merged with its own."""
    template = resolver.template
    merged = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    merged.update(template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}))
    return {k: str(resolver(v)) for k, v in merged.items()}


def function_timeout(resolver: Resolver, function: str) -> int:
    """The Timeout (seconds) the template gives `function` with the stack's parameters: its time budget per invocation."""
    template = resolver.template
    own = resolver(template["Resources"][function]["Properties"].get("Timeout"))
    return int(own or template.get("Globals", {}).get("Function", {}).get("Timeout", 3))


def function_routes(template: dict[str, Any], function: str) -> list[tuple[str, str]]:
    """(method, path) of every API event of `function`, as the template declares them."""
    events = template["Resources"][function]["Properties"].get("Events", {})
    return [(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events.values() if e["Type"] == "Api"]


def load_handler(function_dir: str) -> ModuleType:
    """Import `functions/<dir>/app.py` under a unique module name (both handlers are `app.py`)."""
    name = f"dlr_vault_{function_dir}_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function_dir / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def apply_environment(env: dict[str, str]) -> None:
    """Set a function's environment in this process (local invocations share one process)."""
    os.environ.update(env)


def _create_fan_out(resolver: Resolver, clients: Any, prefix: str) -> None:
    """Queues, event buses and rules. moto delivers rule targets to SQS only, so an API
    destination target becomes a queue of its own with the same InputTransformer: moto applies
    the template's transformer, and `local/webhook.py` posts what lands there to the URL."""
    sqs, events = clients("sqs"), clients("events")
    for logical, resource in resources_present(resolver, "AWS::SQS::Queue").items():
        props = resolver(resource["Properties"])
        name = resolver.names.setdefault(logical, props.get("QueueName", f"{prefix}-{logical}"))
        sqs.create_queue(
            QueueName=name, Attributes={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in props.items() if k != "QueueName"}
        )
    for logical, resource in resources_present(resolver, "AWS::Events::EventBus").items():
        props = resolver(resource["Properties"])
        name = resolver.names.setdefault(logical, props["Name"])
        events.create_event_bus(Name=name, **{k: props[k] for k in ("KmsKeyIdentifier",) if k in props})
    kinds = {logical: resource["Type"] for logical, resource in resolver.template["Resources"].items() if isinstance(resource, dict)}
    for logical, resource in resources_present(resolver, "AWS::Events::Rule").items():
        raw = resource["Properties"]
        name = resolver.names.setdefault(logical, resolver(raw.get("Name", f"{prefix}-{logical}")))
        bus = resolver(raw.get("EventBusName", "default"))
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(resolver(raw["EventPattern"])), State="ENABLED")
        targets = []
        for target in raw["Targets"]:  # only what moto acts on: roles, retry policies and DLQs are AWS's part
            points_at = target["Arn"]["Fn::GetAtt"][0]
            if kinds[points_at] == "AWS::Events::ApiDestination":
                resolver.names[points_at] = f"{prefix}-{points_at}-local"
                sqs.create_queue(QueueName=resolver.names[points_at])
                arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{resolver.names[points_at]}"
            else:
                arn = resolver(target["Arn"])
            kept = {k: resolver(target[k]) for k in ("InputTransformer", "Input", "InputPath") if k in target}
            targets.append({"Id": target["Id"], "Arn": arn, **kept})
        events.put_targets(Rule=name, EventBusName=bus, Targets=targets)


@dataclass
class LocalStack:
    """The template's resources on moto, with the functions' environments resolved against them."""

    resolver: Resolver
    clients: Any

    @property
    def names(self) -> dict[str, str]:
        return self.resolver.names

    def environment(self, function: str) -> dict[str, str]:
        return function_environment(self.resolver, function)

    def outputs(self, *keys: str) -> dict[str, str]:
        """These template Outputs as CloudFormation gives them (one whose Condition is false is absent)."""
        declared = self.resolver.template["Outputs"]
        return {
            key: self.resolver(declared[key]["Value"])
            for key in keys
            if "Condition" not in declared[key] or self.resolver.condition(declared[key]["Condition"])
        }

    def has(self, logical: str) -> bool:
        """Whether the template creates `logical` with this stack's parameters (its Condition)."""
        return self.resolver.exists(logical)


def build_stack(clients: Any, parameters: dict[str, str], infobip_api_key: str, prefix: str = "dlr-vault-local") -> LocalStack:
    """Create the template's resources and the Infobip key secret the deployer would have made."""
    from local.streams import serialize_stream_records

    serialize_stream_records()  # before any table is written
    resolver = Resolver(load_template(), parameters, stack_name=prefix)
    create_resources(resolver, clients, prefix)
    clients("secretsmanager").create_secret(Name=parameters["InfobipApiKeySecret"], SecretString=infobip_api_key)
    return LocalStack(resolver, clients)


def reset_runtime() -> None:
    """Forget cached clients, secrets and handler wiring (a new 'cold start' in this process)."""
    from aws_lambda_powertools.utilities.parameters.base import clear_caches

    from dlr_vault import aws

    aws._session.cache_clear()
    aws._client.cache_clear()
    aws.dynamodb_batches.cache_clear()
    aws._secrets.cache_clear()
    aws._stages_read.cache_clear()
    clear_caches()
    for function_dir in ("collector", "lookup", "notifier"):
        module = sys.modules.get(f"dlr_vault_{function_dir}_app")
        for cached in vars(module).values() if module else ():
            if hasattr(cached, "cache_clear") and getattr(cached, "__module__", "") == module.__name__:
                cached.cache_clear()


def start_moto_server(port: int = 0) -> tuple[Any, str]:
    """moto in server mode on 127.0.0.1; returns the server and its endpoint URL."""
    # moto answers every Origin with Access-Control-Allow-Origin (flask-cors). Only pages served on
    # this machine's loopback (the local console signing in to moto's Cognito) may read its answers;
    # a web page from anywhere else may not. Its app module calls CORS(app) per service: narrow it.
    from functools import partial

    from flask_cors import CORS
    from moto.moto_server import werkzeug_app
    from moto.server import ThreadedMotoServer

    werkzeug_app.CORS = partial(CORS, origins=[r"^http://127\.0\.0\.1:\d+$", r"^http://localhost:\d+$"])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    # A page whose DNS name was rebound to 127.0.0.1 sends its own name as Host: refuse it, as the
    # local API does. The wrapper goes around the app werkzeug serves (moto offers no hook for it).
    server._server.app = _loopback_hosts_only(server._server.app, {f"127.0.0.1:{bound}", f"localhost:{bound}"})  # type: ignore[union-attr]
    return server, f"http://{host}:{bound}"


def _loopback_hosts_only(app: Any, hosts: set[str]) -> Any:
    def checked(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("HTTP_HOST") not in hosts:
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"Forbidden: not this machine's loopback address"]
        return app(environ, start_response)

    return checked
