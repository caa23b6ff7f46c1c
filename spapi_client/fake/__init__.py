"""The fake SP-API server (LWA, consent page, the operations we use, faults, rate limits)."""
from .server import BASIC_SCENARIO, FAULT_KINDS, QUOTA_EXCEEDED_BODY, FakeSpapi, load_scenario

__all__ = ["BASIC_SCENARIO", "FAULT_KINDS", "QUOTA_EXCEEDED_BODY", "FakeSpapi", "load_scenario"]
