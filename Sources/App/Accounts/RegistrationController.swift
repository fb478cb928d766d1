import Hummingbird
import Logging

/// `POST /v1/register`: decode, validate, hand to the service, answer 202 whatever the address.
struct RegistrationController {
    let service: RegistrationService
    let policy: PasswordPolicy
    let limiter: RateLimiter
    let limits: RateLimitSettings

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("register", use: register)
        return routes
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Accepted> {
        let key = try IdempotencyKey.read(from: request.headers)
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let input = try RegistrationInput(json: object, policy: policy)
        // Under overload, refuse before touching the rate-limit counters or the database.
        try await service.hasher.checkCapacity()
        try await limiter.consume("register:ip:\(context.clientNetwork)", limit: limits.registerPerIP)
        try await limiter.consume(
            "register:email:\(RateLimiter.addressKey(input.email))", limit: limits.registerPerEmail)
        let outcome = try await service.register(
            input, idempotencyKey: key, requestID: context.requestID, logger: context.logger)
        return Accepted.response(outcome)
    }
}
