"""Settings of the peer benchmark: the embedded settings plus django-guardian (object
permissions), which the product does not use; installed here as a test/bench dependency."""
from config.settings.dev import *  # noqa: F401,F403
from config.settings.dev import AUTHENTICATION_BACKENDS, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "guardian"]
AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "guardian.backends.ObjectPermissionBackend"]
