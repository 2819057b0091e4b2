#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth`` / ``npx cdk deploy`` (settings in cdk.json, see README)."""
from infra.app import build_app

build_app().synth()
