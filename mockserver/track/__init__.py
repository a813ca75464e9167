"""The funnel's operations, one module each, none of them speaking HTTP: `click` (§5),
`lead` (§4) and `sale` (§2-§3), over the state store."""
