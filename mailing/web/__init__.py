"""The web front end (`mailing serve`): the public answer page, the phone desk, the campaign page and (in
`station`, when installed) the operators' review station, as one Starlette application over the store.

Modules: `app` builds the application; `context` is what every route module gets; `security` holds the
store secret, session cookies, logins, CSRF tokens and throttling; `accesslog` logs requests without codes.
"""
