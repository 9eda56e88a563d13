"""Security headers for the public pages."""

# Our pages load only their own scripts and styles, and talk only to their own origin (websockets
# included). Inline scripts are refused, so text that somehow reached the page as HTML still cannot run.
PUBLIC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    """Add a strict Content-Security-Policy to every page outside the admin (which uses inline styles)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", PUBLIC_CSP)
        return response
