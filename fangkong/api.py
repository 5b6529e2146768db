"""The REST API: one NinjaAPI with each app's router, token or session auth, and one error body shape.

Every error body is `{"code": ..., "message": ..., "field"?: ..., "row"?: ..., "details"?: [...]}`.
OpenAPI schema: /api/openapi.json; interactive docs: /api/docs.
"""

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from fangkong.core.api import router as core_router
from fangkong.core.api_access import API_AUTH
from fangkong.core.errors import DomainError
from fangkong.people.api import router as people_router
from fangkong.quarantine.api import router as quarantine_router
from fangkong.screening.api import router as screening_router
from fangkong.testing.api import router as testing_router
from fangkong.testing.certificates.api import router as certificates_router
from fangkong.tracing.api import router as tracing_router

api = NinjaAPI(
    title="Fangkong API",
    version="1",
    description="Epidemic prevention-and-control platform. Authenticate with `Authorization: Bearer <token>`.",
    auth=API_AUTH,
    urls_namespace="api",
)
api.add_router("/", core_router)
api.add_router("/people/", people_router)
api.add_router("/screening/", screening_router)
api.add_router("/cases/", tracing_router)
api.add_router("/testing/", testing_router)
api.add_router("/certificates/", certificates_router)
api.add_router("/quarantine/", quarantine_router)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, error.as_dict(), status=error.status_code)


def _field_name(location: list[object]) -> str:
    """('body', 'payload', 'name') -> 'name': the field as the client sent it."""
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "form", "header", "cookie"}:
        parts = parts[2:] if parts[0] == "body" and len(parts) > 2 else parts[1:]
    return ".".join(parts)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    details = [{"field": _field_name(item.get("loc", [])), "message": item.get("msg", "")} for item in error.errors]
    first = details[0] if details else {"field": "", "message": "invalid"}
    body = {"code": "invalid", "message": first["message"], "field": first["field"], "details": details}
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"code": "unauthenticated", "message": "Authentication required."}, status=401)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    return api.create_response(request, {"code": "error", "message": str(error)}, status=error.status_code)
