/// The emails the service sends, each with a plain-text and an HTML part.
///
/// Every value placed into HTML is escaped; links are built by the caller from
/// `PUBLIC_BASE_URL` and a base64url token, so they contain no markup characters anyway.
public enum EmailTemplates {
    /// Asks a new (or still unverified) registrant to confirm the address.
    public static func verification(link: String, validFor ttl: Duration) -> EmailContent {
        let validity = describe(ttl)
        let text = """
            Welcome!

            Please confirm your email address by opening this link:

            \(link)

            The link is valid for \(validity) and can be used once.
            If you did not create an account, ignore this email: nothing happens without the link.
            """
        let html = page(
            title: "Confirm your email address",
            body: """
                <p>Welcome!</p>
                <p>Please confirm your email address:</p>
                <p><a href="\(escape(link))">Confirm my email address</a></p>
                <p>Or copy this link into your browser:<br>\(escape(link))</p>
                <p>The link is valid for \(escape(validity)) and can be used once.
                If you did not create an account, ignore this email: nothing happens without the link.</p>
                """
        )
        return EmailContent(kind: "verification", subject: "Confirm your email address", text: text, html: html)
    }

    /// Tells the owner of an active account that someone tried to register their address again.
    public static func alreadyRegistered() -> EmailContent {
        let text = """
            Someone tried to create an account with this email address, but you already have one.

            If it was you, just log in with your existing password (or reset it if you forgot it).
            If it was not you, you can ignore this email: your account has not been changed.
            """
        let html = page(
            title: "You already have an account",
            body: """
                <p>Someone tried to create an account with this email address, but you already have one.</p>
                <p>If it was you, just log in with your existing password (or reset it if you forgot it).</p>
                <p>If it was not you, you can ignore this email: your account has not been changed.</p>
                """
        )
        return EmailContent(kind: "already_registered", subject: "You already have an account", text: text, html: html)
    }

    /// Carries a password reset link to the owner of an active account.
    public static func passwordReset(link: String, validFor ttl: Duration) -> EmailContent {
        let validity = describe(ttl)
        let text = """
            Someone (hopefully you) asked to reset the password of your account.

            Choose a new password by opening this link:

            \(link)

            The link is valid for \(validity) and can be used once.
            If you did not ask for this, ignore this email: your password stays as it is.
            """
        let html = page(
            title: "Reset your password",
            body: """
                <p>Someone (hopefully you) asked to reset the password of your account.</p>
                <p><a href="\(escape(link))">Choose a new password</a></p>
                <p>Or copy this link into your browser:<br>\(escape(link))</p>
                <p>The link is valid for \(escape(validity)) and can be used once.
                If you did not ask for this, ignore this email: your password stays as it is.</p>
                """
        )
        return EmailContent(kind: "password_reset", subject: "Reset your password", text: text, html: html)
    }

    /// Confirms a password change, so the owner notices one they did not make. After a change
    /// made while signed in, the device that made it stays signed in (`keptOneSession`).
    public static func passwordChanged(keptOneSession: Bool = false) -> EmailContent {
        let signedOut = keptOneSession ? "every other session" : "every session"
        let text = """
            The password of your account was just changed, and \(signedOut) was signed out.

            If this was you, there is nothing to do.
            If it was not you, reset your password now and check the security of your email account.
            """
        let html = page(
            title: "Your password was changed",
            body: """
                <p>The password of your account was just changed, and \(signedOut) was signed out.</p>
                <p>If this was you, there is nothing to do.</p>
                <p>If it was not you, reset your password now and check the security of your email account.</p>
                """
        )
        return EmailContent(kind: "password_changed", subject: "Your password was changed", text: text, html: html)
    }

    /// Confirms that an account was deleted, so the owner notices a deletion they did not make.
    public static func accountDeleted() -> EmailContent {
        let text = """
            Your account was deleted, as asked while signed in with its password. Everything it held is gone,
            and this address can be used to register again.

            If this was not you, someone knew your password: register again and check the security of your
            email account.
            """
        let html = page(
            title: "Your account was deleted",
            body: """
                <p>Your account was deleted, as asked while signed in with its password. Everything it held is gone, \
                and this address can be used to register again.</p>
                <p>If this was not you, someone knew your password: register again and check the security of your \
                email account.</p>
                """
        )
        return EmailContent(kind: "account_deleted", subject: "Your account was deleted", text: text, html: html)
    }

    /// Tells the owner that an administrator deleted the account.
    public static func accountDeletedByAdministrator() -> EmailContent {
        let text = """
            Your account was deleted by an administrator of the service. Everything it held is gone, and this
            address can be used to register again.
            """
        let html = page(
            title: "Your account was deleted",
            body: """
                <p>Your account was deleted by an administrator of the service. Everything it held is gone, and \
                this address can be used to register again.</p>
                """
        )
        return EmailContent(kind: "account_deleted", subject: "Your account was deleted", text: text, html: html)
    }

    /// The link that moves an account to this (new) address.
    public static func emailChange(link: String, validFor ttl: Duration) -> EmailContent {
        let validity = describe(ttl)
        let text = """
            Someone signed in to an account asked to change its email address to this one.
            To confirm the change, open this link within \(validity):

            \(link)

            If this was not you, ignore this email: nothing changes.
            """
        let html = page(
            title: "Confirm your new email address",
            body: """
                <p>Someone signed in to an account asked to change its email address to this one.</p>
                <p><a href="\(escape(link))">Confirm the new address</a> within \(escape(validity)).</p>
                <p>If this was not you, ignore this email: nothing changes.</p>
                """
        )
        return EmailContent(
            kind: "email_change", subject: "Confirm your new email address", text: text, html: html)
    }

    /// Tells the current address that a change away from it was asked for. The new address is
    /// not named: whoever holds a stolen session must not learn it is in use, and the owner
    /// needs only to know that a change is pending.
    public static func emailChangeRequested() -> EmailContent {
        let text = """
            Someone signed in to your account asked to change its email address. The change happens only
            when the link sent to the new address is opened.

            If this was you, there is nothing to do. If it was not you, change your password now: it ends
            every session, and the pending change with it.
            """
        let html = page(
            title: "A change of your email address was requested",
            body: """
                <p>Someone signed in to your account asked to change its email address. The change happens only \
                when the link sent to the new address is opened.</p>
                <p>If this was you, there is nothing to do. If it was not you, change your password now: it ends \
                every session, and the pending change with it.</p>
                """
        )
        return EmailContent(
            kind: "email_change_requested", subject: "A change of your email address was requested", text: text,
            html: html)
    }

    /// Sent to a new address that another account already has, instead of a link.
    public static func emailChangeAddressInUse() -> EmailContent {
        let text = """
            Someone signed in to an account asked to change its email address to this one, but this address
            already belongs to an account, so nothing changes.

            If this was you, sign in with this address instead. If it was not you, ignore this email.
            """
        let html = page(
            title: "This address already has an account",
            body: """
                <p>Someone signed in to an account asked to change its email address to this one, but this \
                address already belongs to an account, so nothing changes.</p>
                <p>If this was you, sign in with this address instead. If it was not you, ignore this email.</p>
                """
        )
        return EmailContent(
            kind: "email_change_in_use", subject: "This address already has an account", text: text, html: html)
    }

    /// Tells the former address that the account moved away from it.
    public static func emailChanged() -> EmailContent {
        let text = """
            The email address of your account was changed: from now on, emails about it go to the new address
            and you sign in with that.

            If this was not you, contact the service's support.
            """
        let html = page(
            title: "Your email address was changed",
            body: """
                <p>The email address of your account was changed: from now on, emails about it go to the new \
                address and you sign in with that.</p>
                <p>If this was not you, contact the service's support.</p>
                """
        )
        return EmailContent(kind: "email_changed", subject: "Your email address was changed", text: text, html: html)
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title></head>
        <body style="font-family: -apple-system, Segoe UI, Helvetica, Arial, sans-serif; line-height: 1.5; color: #1a1a1a;">
        <h1 style="font-size: 20px;">\(escape(title))</h1>
        \(body)
        </body></html>
        """
    }

    /// Escapes the five characters that are special in HTML text and attributes.
    public static func escape(_ text: String) -> String {
        // Over Unicode scalars, not Characters: `"` followed by a combining mark is one
        // grapheme cluster that equals no `"` Character, yet the browser sees the quote.
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": escaped.append(contentsOf: "&amp;".unicodeScalars)
            case "<": escaped.append(contentsOf: "&lt;".unicodeScalars)
            case ">": escaped.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": escaped.append(contentsOf: "&quot;".unicodeScalars)
            case "'": escaped.append(contentsOf: "&#39;".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    static func describe(_ duration: Duration) -> String {
        let seconds = Int(duration.components.seconds)
        if seconds % 86400 == 0 { return plural(seconds / 86400, "day") }
        if seconds % 3600 == 0 { return plural(seconds / 3600, "hour") }
        if seconds % 60 == 0 { return plural(seconds / 60, "minute") }
        return plural(seconds, "second")
    }

    private static func plural(_ count: Int, _ unit: String) -> String {
        count == 1 ? "1 \(unit)" : "\(count) \(unit)s"
    }
}
