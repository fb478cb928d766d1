#!/usr/bin/env python3
# Writes Sources/App/Resources/openapi.json, the OpenAPI 3.1 description of the API.
# Edit this file (not the JSON) when the API changes, run it, and commit both.
import json
P = lambda code: {"$ref": f"#/components/responses/{code}"}
def json_body(schema_ref, required=True, form=False):
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}
    if form:
        content["application/x-www-form-urlencoded"] = {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}
    return {"required": required, "content": content}
def ok(schema, desc, html=False, headers=None):
    c = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    if html: c["text/html"] = {"schema": {"type": "string"}}
    r = {"description": desc, "content": c}
    if headers: r["headers"] = headers
    return r
def problem(desc, html=False, extra_headers=None):
    c = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    if html: c["text/html"] = {"schema": {"type": "string"}}
    r = {"description": desc, "content": c}
    if extra_headers: r["headers"] = extra_headers
    return r
body_errors = {"400": P("BadRequest"), "413": P("TooLarge"), "408": P("Timeout"), "415": P("UnsupportedMediaType"), "422": P("ValidationFailed"), "500": P("InternalError")}
limited = {"429": P("RateLimited")}
# The POSTs that send email take an optional Idempotency-Key: a retry with the same key and
# address gets the original answer (marked Idempotent-Replayed) and sends nothing.
idempotency_key = [{"name": "Idempotency-Key", "in": "header", "required": False,
    "description": "1–255 visible ASCII characters, e.g. a UUID. A retry with the same key and the same address within IDEMPOTENCY_KEY_TTL gets the original answer and sends no email.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!#-~]+$"}}]
def accepted(desc):
    return ok("Accepted", desc, headers={"Idempotent-Replayed": {"description": "true when this is the stored answer of an earlier request with the same Idempotency-Key.", "schema": {"type": "string", "enum": ["true"]}}})
idempotent_errors = {**body_errors,
    "400": problem("Malformed body, or invalid_idempotency_key."),
    "422": problem("Validation failed, or idempotency_key_reused: the Idempotency-Key was used for a different request.")}
overloaded = {"503": P("OverloadedOrUnavailable")}
ADMIN_ERRORS = {"401": P("Unauthenticated"), "403": problem("forbidden: the token lacks the admin role."),
                "404": problem("account_not_found."), "409": problem("own_account: administrators cannot disable, enable or delete their own account."),
                "422": P("ValidationFailed"), "500": P("InternalError"), **overloaded}
spec = {
  "openapi": "3.1.0",
  "info": {"title": "Registration service", "version": "1.0.0",
           "description": "User registration, email verification, login with ES256 JWTs, refresh-token rotation, roles and password reset. Errors are RFC 9457 problem details with a stable `code`."},
  "servers": [{"url": "/"}],
  "paths": {
    "/v1/register": {"post": {"operationId": "register", "summary": "Register an email address and a password",
        "parameters": idempotency_key,
        "requestBody": json_body("Credentials"),
        "responses": {"202": accepted("Accepted, whatever the address (new, pending or active)."), **idempotent_errors, **limited, **overloaded}}},
    "/v1/verify": {
      "get": {"operationId": "verify", "summary": "Open a verification link",
        "parameters": [{"name": "token", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": ok("Verified", "Verified, already verified, or (with the confirm step) confirmation required; browsers get HTML (with a password form while several registrations wait).", html=True),
                      "400": problem("Invalid, tampered or unknown token.", html=True),
                      "409": problem("password_required: more than one registration of the address is waiting; POST the token with the password chosen at this link's registration."),
                      "410": problem("Expired token.", html=True), "500": P("InternalError"), "503": P("OverloadedOrUnavailable")}},
      "post": {"operationId": "confirmVerification", "summary": "Activate with a verification token (the confirm button posts a form here)",
        "requestBody": json_body("VerifyBody", form=True),
        "responses": {"200": ok("Verified", "Verified or already verified; a form post gets HTML.", html=True),
                      "400": problem("Malformed body, or invalid token.", html=True),
                      "403": problem("password_mismatch: not the password chosen at this link's registration; nothing changed.", html=True),
                      "409": problem("password_required: more than one registration is waiting; send the password too."),
                      "410": problem("Expired token.", html=True), **limited, **overloaded,
                      "408": P("Timeout"), "413": P("TooLarge"), "415": P("UnsupportedMediaType"), "422": P("ValidationFailed"), "500": P("InternalError")}}},
    "/v1/verify/resend": {"post": {"operationId": "resendVerification", "summary": "Send a new verification link",
        "parameters": idempotency_key,
        "requestBody": json_body("EmailBody"),
        "responses": {"202": accepted("Accepted, whatever the address."), **idempotent_errors, **limited, **overloaded}}},
    "/v1/login": {"post": {"operationId": "login", "summary": "Log in",
        "requestBody": json_body("Credentials"),
        "responses": {"200": ok("TokenPair", "Tokens.", headers={"Cache-Control": {"schema": {"type": "string"}}}),
                      "401": problem("invalid_credentials: unknown address, wrong password, or an address not confirmed yet (never told apart)."),
                      "403": problem("account_disabled: the right password for an account an administrator disabled."), **body_errors, **limited, **overloaded}}},
    "/v1/token/refresh": {"post": {"operationId": "refresh", "summary": "Exchange a refresh token for a new pair",
        "requestBody": json_body("RefreshBody"),
        "responses": {"200": ok("TokenPair", "New tokens; the presented refresh token is used up."),
                      "401": problem("invalid_grant: unknown, expired, revoked, already used (reuse revokes the family), past the family's REFRESH_TOKEN_MAX_AGE or older than the account's last password change."), **body_errors, **limited, **overloaded}}},
    "/v1/logout": {"post": {"operationId": "logout", "summary": "Revoke a refresh token",
        "requestBody": json_body("RefreshBody"),
        "responses": {"204": {"description": "The token's whole family (session) revoked, or the token was not known."}, **body_errors, **overloaded}}},
    "/v1/me": {"get": {"operationId": "me", "summary": "The signed-in account", "security": [{"bearer": []}],
        "responses": {"200": ok("Account", "The account."), "401": P("Unauthenticated"), "500": P("InternalError")}},
      "delete": {"operationId": "deleteAccount", "summary": "Delete the signed-in account", "security": [{"bearer": []}],
        "requestBody": json_body("PasswordBody"),
        "responses": {"204": {"description": "Deleted with its links, sessions and reset tokens; a confirmation went to its address, which can register again."},
                      "401": P("Unauthenticated"),
                      "403": problem("wrong_password: the password is not right; nothing changed."),
                      **body_errors, **limited, **overloaded}}},
    "/v1/me/password": {"post": {"operationId": "changePassword", "summary": "Change the signed-in account's password", "security": [{"bearer": []}],
        "requestBody": json_body("PasswordChangeBody"),
        "responses": {"200": ok("TokenPair", "Changed: every other session of the account ended, the owner was told by email, and these tokens start a new session.", headers={"Cache-Control": {"schema": {"type": "string"}}}),
                      "401": P("Unauthenticated"),
                      "403": problem("wrong_password: the current password is not right; nothing changed."),
                      **body_errors, "422": problem("The new password breaks the policy, or a field is missing."), **limited, **overloaded}}},
    "/v1/me/email": {"post": {"operationId": "changeEmail", "summary": "Ask to change the signed-in account's address", "security": [{"bearer": []}],
        "requestBody": json_body("EmailChangeBody"),
        "responses": {"202": ok("Accepted", "Accepted whatever the new address: a link went to it (or, if another account has it, a notice instead) and a notice to the current address. The change happens when the link is confirmed."),
                      "401": P("Unauthenticated"),
                      "403": problem("wrong_password: the password is not right; nothing changed."),
                      **body_errors, "422": problem("Validation failed: a field is missing or not an address, or new_email is the account's own address."), **limited, **overloaded}}},
    "/v1/me/sessions": {"get": {"operationId": "listSessions", "summary": "The signed-in account's sessions (one per login)", "security": [{"bearer": []}],
        "responses": {"200": ok("SessionList", "Live sessions, most recently used first; `current` marks the one this access token belongs to."),
                      "401": P("Unauthenticated"), "500": P("InternalError"), **overloaded}}},
    "/v1/me/sessions/{id}": {"delete": {"operationId": "endSession", "summary": "End one session of the signed-in account", "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
        "responses": {"204": {"description": "Ended: its refresh tokens are revoked (its access token lapses within its lifetime)."},
                      "401": P("Unauthenticated"), "404": problem("session_not_found: the account has no live session with this id."),
                      "422": P("ValidationFailed"), "500": P("InternalError"), **overloaded}}},
    "/v1/email/confirm": {
      "get": {"operationId": "emailChangePage", "summary": "Open the link sent to a new address",
        "parameters": [{"name": "token", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": ok("EmailChanged", "confirmation_required (the link changes nothing by itself); browsers get a page with a confirm button.", html=True),
                      "400": problem("Invalid link.", html=True), "500": P("InternalError")}},
      "post": {"operationId": "confirmEmailChange", "summary": "Confirm a change of address (the confirm button posts a form here)",
        "requestBody": json_body("TokenBody", form=True),
        "responses": {"200": ok("EmailChanged", "Changed; a form post gets HTML. The former address was told.", html=True),
                      "400": problem("Malformed body, or an invalid, unknown or superseded link.", html=True),
                      "409": problem("email_taken: another account has the new address now; nothing changed.", html=True),
                      "410": problem("The link expired or was used.", html=True),
                      "408": P("Timeout"), "413": P("TooLarge"), "415": P("UnsupportedMediaType"), "422": P("ValidationFailed"), "500": P("InternalError"), **overloaded}}},
    "/v1/admin/users": {"get": {"operationId": "listUsers", "summary": "List and search accounts (admin)", "security": [{"bearer": []}],
        "parameters": [
          {"name": "status", "in": "query", "required": False, "schema": {"type": "string", "enum": ["pending", "active", "disabled"]}},
          {"name": "email_prefix", "in": "query", "required": False, "description": "Addresses (normalised, case-insensitive) starting with this.", "schema": {"type": "string", "minLength": 1, "maxLength": 254}},
          {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
          {"name": "cursor", "in": "query", "required": False, "description": "The next_cursor of the page before.", "schema": {"type": "string"}}],
        "responses": {"200": ok("AccountPage", "A page of accounts in creation order; accounts created meanwhile appear on later pages, none twice."), "401": P("Unauthenticated"),
                      "403": problem("forbidden: the token lacks the admin role."), "422": P("ValidationFailed"), "500": P("InternalError"), **overloaded}}},
    "/v1/admin/users/{id}": {"delete": {"operationId": "deleteUser", "summary": "Delete an account (admin)", "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
        "responses": {"204": {"description": "Deleted with its sessions and tokens; a tombstone without the address stays, and a verified address was told."},
                      **ADMIN_ERRORS}}},
    "/v1/admin/users/{id}/disable": {"post": {"operationId": "disableUser", "summary": "Disable an account (admin)", "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
        "responses": {"200": ok("Account", "Disabled: it cannot log in or refresh and its sessions ended; access tokens already issued lapse within their lifetime."),
                      **ADMIN_ERRORS}}},
    "/v1/admin/users/{id}/enable": {"post": {"operationId": "enableUser", "summary": "Enable a disabled account (admin)", "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}],
        "responses": {"200": ok("Account", "Enabled: pending or active again, as it was."), **ADMIN_ERRORS}}},
    "/v1/admin/audit": {"get": {"operationId": "auditTrail", "summary": "The audit trail (admin)", "security": [{"bearer": []}],
        "parameters": [
          {"name": "account_id", "in": "query", "required": False, "schema": {"type": "string", "format": "uuid"}},
          {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
          {"name": "cursor", "in": "query", "required": False, "description": "The next_cursor of the page before.", "schema": {"type": "string"}}],
        "responses": {"200": ok("AuditPage", "Events, newest first."), "401": P("Unauthenticated"),
                      "403": problem("forbidden: the token lacks the admin role."), "422": P("ValidationFailed"), "500": P("InternalError"), **overloaded}}},
    "/v1/password/forgot": {"post": {"operationId": "forgotPassword", "summary": "Ask for a password reset link",
        "parameters": idempotency_key,
        "requestBody": json_body("EmailBody"),
        "responses": {"202": accepted("Accepted, whatever the address."), **idempotent_errors, **limited, **overloaded}}},
    "/v1/password/reset": {
      "get": {"operationId": "passwordResetForm", "summary": "The built-in reset form",
        "parameters": [{"name": "token", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "The form.", "content": {"text/html": {"schema": {"type": "string"}}}},
                      "400": {"description": "Invalid link.", "content": {"text/html": {"schema": {"type": "string"}}}},
                      "410": {"description": "Expired or used link.", "content": {"text/html": {"schema": {"type": "string"}}}},
                      "500": P("InternalError")}},
      "post": {"operationId": "resetPassword", "summary": "Set a new password with a reset token",
        "requestBody": json_body("ResetBody", form=True),
        "responses": {"204": {"description": "Password changed; every session revoked."},
                      "200": {"description": "Password changed (form post).", "content": {"text/html": {"schema": {"type": "string"}}}},
                      "400": problem("Malformed body, or invalid token.", html=True),
                      "410": problem("expired_token or used_token.", html=True),
                      "422": problem("The new password breaks the policy.", html=True),
                      "408": P("Timeout"), "413": P("TooLarge"), "415": P("UnsupportedMediaType"), "500": P("InternalError"), **overloaded}}},
    "/.well-known/jwks.json": {"get": {"operationId": "jwks", "summary": "Public keys that verify access tokens",
        "responses": {"200": ok("JWKS", "RFC 7517 key set.")}}},
    "/health/live": {"get": {"operationId": "live", "summary": "The process answers",
        "responses": {"200": ok("Status", "Up.")}}},
    "/health/ready": {"get": {"operationId": "ready", "summary": "The database answers and the schema is current",
        "responses": {"200": ok("Readiness", "Ready; `email` says whether the email provider accepts the configuration."),
                      "503": problem("not_ready (database unreachable or schema not current) or shutting_down (draining after SIGTERM).")}}},
    "/openapi.json": {"get": {"operationId": "openapi", "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    "schemas": {
      "Credentials": {"type": "object", "additionalProperties": False, "required": ["email", "password"],
                      "properties": {"email": {"type": "string", "format": "email", "maxLength": 254}, "password": {"type": "string", "minLength": 8, "maxLength": 128}}},
      "EmailBody": {"type": "object", "additionalProperties": False, "required": ["email"], "properties": {"email": {"type": "string", "format": "email", "maxLength": 254}}},
      "VerifyBody": {"type": "object", "additionalProperties": False, "required": ["token"], "properties": {"token": {"type": "string"}, "password": {"type": "string", "description": "The password chosen at the link's registration; needed while more than one registration of the address is waiting (409 password_required)."}}},
      "RefreshBody": {"type": "object", "additionalProperties": False, "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}},
      "PasswordBody": {"type": "object", "additionalProperties": False, "required": ["password"],
                    "properties": {"password": {"type": "string", "maxLength": 128}}},
      "PasswordChangeBody": {"type": "object", "additionalProperties": False, "required": ["current_password", "new_password"],
                    "properties": {"current_password": {"type": "string", "maxLength": 128}, "new_password": {"type": "string", "minLength": 8, "maxLength": 128}}},
      "ResetBody": {"type": "object", "additionalProperties": False, "required": ["token", "password"],
                    "properties": {"token": {"type": "string"}, "password": {"type": "string", "minLength": 8, "maxLength": 128}}},
      "Accepted": {"type": "object", "required": ["status", "message"], "properties": {"status": {"const": "accepted"}, "message": {"type": "string"}}},
      "Verified": {"type": "object", "required": ["status", "message"],
                   "properties": {"status": {"enum": ["verified", "already_verified", "confirmation_required"]}, "message": {"type": "string"}}},
      "TokenPair": {"type": "object", "required": ["access_token", "token_type", "expires_in", "refresh_token"],
                    "properties": {"access_token": {"type": "string"}, "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}, "refresh_token": {"type": "string"}}},
      "Account": {"type": "object", "required": ["id", "email", "status", "roles", "created_at", "verified_at", "disabled_at"],
                  "properties": {"id": {"type": "string", "format": "uuid"}, "email": {"type": "string"}, "status": {"enum": ["pending", "active", "disabled"]},
                                 "roles": {"type": "array", "items": {"enum": ["user", "admin"]}},
                                 "created_at": {"type": "string", "format": "date-time"}, "verified_at": {"type": ["string", "null"], "format": "date-time"},
                                 "disabled_at": {"type": ["string", "null"], "format": "date-time"}}},
      "AccountPage": {"type": "object", "required": ["users", "total", "limit", "next_cursor"],
                      "properties": {"users": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}, "total": {"type": "integer", "description": "Accounts matching the filter."},
                                     "limit": {"type": "integer"}, "next_cursor": {"type": ["string", "null"], "description": "null on the last page."}}},
      "EmailChangeBody": {"type": "object", "additionalProperties": False, "required": ["new_email", "password"],
                    "properties": {"new_email": {"type": "string", "format": "email", "maxLength": 254}, "password": {"type": "string", "maxLength": 128}}},
      "TokenBody": {"type": "object", "additionalProperties": False, "required": ["token"], "properties": {"token": {"type": "string"}}},
      "EmailChanged": {"type": "object", "required": ["status", "message"],
                   "properties": {"status": {"enum": ["email_changed", "confirmation_required"]}, "message": {"type": "string"}}},
      "Session": {"type": "object", "required": ["id", "created_at", "last_used_at", "expires_at", "client_ip", "user_agent", "current"],
                  "properties": {"id": {"type": "string", "format": "uuid"}, "created_at": {"type": "string", "format": "date-time"},
                                 "last_used_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time"},
                                 "client_ip": {"type": ["string", "null"]}, "user_agent": {"type": ["string", "null"]}, "current": {"type": "boolean"}}},
      "SessionList": {"type": "object", "required": ["sessions"], "properties": {"sessions": {"type": "array", "items": {"$ref": "#/components/schemas/Session"}}}},
      "AuditEvent": {"type": "object", "required": ["id", "event", "account_id", "actor", "occurred_at", "client_ip", "user_agent", "request_id", "detail"],
                     "properties": {"id": {"type": "integer"}, "event": {"type": "string"}, "account_id": {"type": ["string", "null"], "format": "uuid"},
                                    "actor": {"type": "string", "description": "self, admin:<id>, operator or system."},
                                    "occurred_at": {"type": "string", "format": "date-time"}, "client_ip": {"type": ["string", "null"]},
                                    "user_agent": {"type": ["string", "null"]}, "request_id": {"type": ["string", "null"]},
                                    "detail": {"type": "object", "additionalProperties": {"type": "string"}}}},
      "AuditPage": {"type": "object", "required": ["events", "next_cursor"],
                    "properties": {"events": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}}, "next_cursor": {"type": ["string", "null"]}}},
      "JWKS": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": {"type": "object",
               "required": ["kty", "crv", "x", "y", "kid", "use", "alg"], "properties": {k: {"type": "string"} for k in ["kty", "crv", "x", "y", "kid", "use", "alg"]}}}}},
      "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
      "Readiness": {"type": "object", "required": ["status", "email"],
                    "properties": {"status": {"const": "ready"}, "email": {"enum": ["ok", "configuration_error"]},
                                   "email_detail": {"type": "string", "description": "What the provider refused, when it did."}}},
      "FieldViolation": {"type": "object", "required": ["field", "rule", "detail"],
                         "properties": {"field": {"type": "string"}, "rule": {"type": "string"}, "detail": {"type": "string"}}},
      "Problem": {"type": "object", "required": ["type", "title", "status", "detail", "code"],
                  "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
                                 "code": {"type": "string"}, "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldViolation"}}}},
    },
    "responses": {
      "BadRequest": problem("malformed_json, duplicate_member or json_too_deep."),
      "Timeout": problem("request_timeout: the body did not arrive in time."),
      "TooLarge": problem("body_too_large: over 16 KiB."),
      "UnsupportedMediaType": problem("unsupported_media_type: not application/json."),
      "ValidationFailed": problem("validation_failed, with errors naming each field and rule."),
      "RateLimited": problem("rate_limited.", extra_headers={"Retry-After": {"schema": {"type": "integer"}}}),
      "Unauthenticated": problem("authentication_required or invalid_token.", extra_headers={"WWW-Authenticate": {"schema": {"type": "string"}}}),
      "InternalError": problem("internal_error."),
    },
  },
}
# Every operation that reads or writes the database may answer 503 database_unavailable.
spec["components"]["responses"]["Unavailable"] = problem(
    "database_unavailable: the database is unreachable or slower than the configured timeouts; nothing was changed.",
    extra_headers={"Retry-After": {"schema": {"type": "integer"}}})
spec["components"]["responses"]["OverloadedOrUnavailable"] = problem(
    "overloaded (password hashing is saturated) or database_unavailable; nothing was changed, retry later.",
    extra_headers={"Retry-After": {"schema": {"type": "integer"}}})
for operations in spec["paths"].values():
    for operation in operations.values():
        if operation["operationId"] in {"jwks", "live", "ready", "metrics", "openapi"}:
            continue
        responses = operation["responses"]
        responses.setdefault("503", P("Unavailable"))

import os, sys
here = os.path.dirname(os.path.abspath(__file__))
json.dump(spec, open(os.path.join(here, '..', 'Sources', 'App', 'Resources', 'openapi.json'), 'w'), indent=2)
open(os.path.join(here, '..', 'Sources', 'App', 'Resources', 'openapi.json'), 'a').write('\n')
print("ok")
