"""Deliberately broken implementations of Dub's tracking API, each with one realistic fault.

Every variant wraps the faithful mock and changes what one rule needs changed, the way a real
implementation might get it wrong. `breaks` names the contract checks (test names) of which at
least one must fail against it: the proof that `dub-mock check` catches the fault and names it.
`areas` are the parts of the suite the fault is in (`dub-mock check --only ...`): the kill test
checks each variant on those, the faithful mock on all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .faults_funnel import (
    AllowedHostnamesIgnored,
    BrowserOptions405,
    ClickDedupIgnored,
    ClickDedupIgnoresUserAgent,
    ClickDomainNotNormalised,
    ClickIdOfWrongLength,
    ClickNeedsAKey,
    ClientAliasesAccepted,
    ClientPlanUnchecked,
    CorsOnlyOnSuccess,
    DedupKeyCaseSensitive,
    DedupKeyReleasedOn404,
    DeferredRecordsTheLead,
    DeferredTakesTheKey,
    DuplicateAnswersTheLink,
    EventQuantityIgnored,
    ForeignClickAccepted,
    HalfToEvenRounding,
    HostnamesBeforeTheBody,
    LeadAnswersTheRequestCustomer,
    LeadDedupIgnored,
    LeadDisabledSaysSale,
    LeadsOffTheBudget,
    LinkLeadsNotCounted,
    MissingClickIs404,
    NoTrackIgnored,
    PublishableKeyOnSecretRoutes,
    PublishablePrefixCheckedLate,
    SecretTokenOnClientRoutes,
    UnknownKeyBeforeRateLimit,
    WildcardMatchesTheApex,
    WwwKeptInHostnames,
)
from .faults_http import (
    AliasesIgnored,
    AnyPlanWrites,
    AnyRoleWrites,
    AuthOptional,
    BearerCheckedLate,
    DocUrlAllHyphens,
    EmailUnvalidated,
    EmptyBody422,
    ExpiredTokenAccepted,
    ExtraPropertiesRejected,
    FlatErrorEnvelope,
    GenericValidationMessage,
    HtmlCrashOnUnicode,
    MetadataUnbounded,
    NegativeAmountAccepted,
    PersonalKey401,
    RateHeadersOnlyOn200,
    RemainingFrozen,
    RequiredCheckedFirst,
    ResetInSeconds,
    RetryAfterMissingOn429,
    TextPlainErrors,
    WrongMethod404,
)
from .faults_logic import (
    AmountZeroRecorded,
    Created201,
    CurrencyCaseKept,
    CustomerIdUuid,
    DefaultProcessorStripe,
    DirectNameIgnoresEmail,
    EmptyAvatarNulled,
    FirstLeadByDefault,
    IdempotencyAcrossWorkspaces,
    IdempotencyIgnored,
    IdempotencyRace,
    LeakedField,
    NotConverted,
    ReplayEchoesNewAmount,
    UnknownClickNulls,
    UnknownCustomer404,
    ZeroDecimalNotScaled,
)
from .faults_webhooks import (
    EveryEventTwice,
    MetadataLeftOut,
    RetryWithANewId,
    SignatureWithoutPrefix,
)
from .middleware import Rewriter

if TYPE_CHECKING:
    from mockserver.app import MockApp


LEAD, CLICK, CLIENT, WEBHOOKS = ("lead",), ("click",), ("client",), ("webhooks",)


@dataclass(frozen=True)
class Variant:
    """A named broken implementation and the checks that must catch it."""

    name: str
    build: Callable[[MockApp], Rewriter]
    breaks: tuple[str, ...]
    areas: tuple[str, ...] = ("sale",)

    @property
    def fault(self) -> str:
        doc = self.build.__doc__ or ""
        return doc.strip().splitlines()[0]


VARIANTS: tuple[Variant, ...] = (
    Variant(
        "leaked-field",
        LeakedField,
        ("test_spec_conformance", "test_sale_answer_shape_and_defaults"),
    ),
    Variant("created-201", Created201, ("test_sale_answer_shape_and_defaults",)),
    Variant("unknown-customer-404", UnknownCustomer404, ("test_unknown_customer_answers_nulls",)),
    Variant("amount-zero-recorded", AmountZeroRecorded, ("test_amount_zero_answers_nulls",)),
    Variant(
        "default-processor-stripe", DefaultProcessorStripe, ("test_sale_answer_shape_and_defaults",)
    ),
    Variant("customer-id-uuid", CustomerIdUuid, ("test_direct_sale_creates_the_customer",)),
    Variant(
        "direct-name-ignores-email",
        DirectNameIgnoresEmail,
        ("test_direct_sale_name_falls_back_to_email",),
    ),
    Variant("first-lead-by-default", FirstLeadByDefault, ("test_latest_lead_is_used_by_default",)),
    Variant(
        "empty-avatar-nulled",
        EmptyAvatarNulled,
        ("test_direct_sale_keeps_empty_avatar_and_names_empty_lead",),
    ),
    Variant(
        "idempotency-across-workspaces",
        IdempotencyAcrossWorkspaces,
        ("test_invoice_ids_are_per_workspace",),
    ),
    Variant("unknown-click-nulls", UnknownClickNulls, ("test_unknown_click_is_404",)),
    Variant(
        "idempotency-ignored",
        IdempotencyIgnored,
        ("test_repeated_invoice_replays_the_first_answer",),
    ),
    Variant(
        "idempotency-race",
        IdempotencyRace,
        ("test_concurrent_requests_on_one_invoice_record_once",),
    ),
    Variant(
        "replay-echoes-new-amount",
        ReplayEchoesNewAmount,
        ("test_repeated_invoice_replays_the_first_answer",),
    ),
    Variant(
        "negative-amount-accepted",
        NegativeAmountAccepted,
        ("test_schema_violation_is_422_naming_the_field",),
    ),
    Variant(
        "email-unvalidated", EmailUnvalidated, ("test_schema_violation_is_422_naming_the_field",)
    ),
    Variant(
        "metadata-unbounded", MetadataUnbounded, ("test_schema_violation_is_422_naming_the_field",)
    ),
    Variant(
        "extra-properties-rejected",
        ExtraPropertiesRejected,
        ("test_unknown_properties_are_ignored",),
    ),
    Variant(
        "generic-validation-message",
        GenericValidationMessage,
        ("test_schema_violation_is_422_naming_the_field",),
    ),
    Variant("empty-body-422", EmptyBody422, ("test_invalid_json_is_400", "test_no_body_is_400")),
    Variant(
        "required-checked-first",
        RequiredCheckedFirst,
        ("test_schema_checked_before_missing_external_id",),
    ),
    Variant("aliases-ignored", AliasesIgnored, ("test_deprecated_aliases_name_the_customer",)),
    Variant(
        "html-crash-on-unicode", HtmlCrashOnUnicode, ("test_direct_sale_creates_the_customer",)
    ),
    Variant(
        "bearer-checked-late", BearerCheckedLate, ("test_authorization_without_bearer_is_400",)
    ),
    Variant("auth-optional", AuthOptional, ("test_missing_authorization_is_401",)),
    Variant("personal-key-401", PersonalKey401, ("test_personal_api_key_is_404",)),
    Variant("expired-token-accepted", ExpiredTokenAccepted, ("test_expired_token_is_401",)),
    Variant("any-role-writes", AnyRoleWrites, ("test_role_without_write_access_is_403",)),
    Variant("any-plan-writes", AnyPlanWrites, ("test_plan_below_business_is_403",)),
    Variant(
        "rate-headers-only-on-200", RateHeadersOnlyOn200, ("test_headers_on_success_and_on_errors",)
    ),
    Variant("retry-after-missing-on-429", RetryAfterMissingOn429, ("test_over_the_limit_is_429",)),
    Variant("reset-in-seconds", ResetInSeconds, ("test_headers_on_success_and_on_errors",)),
    Variant("remaining-frozen", RemainingFrozen, ("test_remaining_goes_down",)),
    Variant(
        "flat-error-envelope",
        FlatErrorEnvelope,
        ("test_spec_conformance", "test_missing_authorization_is_401"),
    ),
    Variant(
        "doc-url-all-hyphens",
        DocUrlAllHyphens,
        ("test_over_the_limit_is_429", "test_undeclared_method_is_405_with_allow"),
    ),
    Variant(
        "text-plain-errors",
        TextPlainErrors,
        ("test_spec_conformance", "test_missing_authorization_is_401"),
    ),
    Variant("wrong-method-404", WrongMethod404, ("test_undeclared_method_is_405_with_allow",)),
    Variant(
        "zero-decimal-not-scaled",
        ZeroDecimalNotScaled,
        ("test_zero_decimal_currency_is_converted",),
    ),
    Variant("not-converted", NotConverted, ("test_two_decimal_currency_is_converted",)),
    Variant("currency-case-kept", CurrencyCaseKept, ("test_usd_is_lower_cased_and_kept",)),
    # §4 leads
    Variant(
        "lead-dedup-ignored",
        LeadDedupIgnored,
        ("test_repeated_lead_answers_link_null", "test_concurrent_identical_leads_record_one"),
        LEAD,
    ),
    Variant(
        "dedup-key-released-on-404",
        DedupKeyReleasedOn404,
        ("test_dedup_key_is_kept_after_a_404",),
        LEAD,
    ),
    Variant(
        "duplicate-answers-the-link",
        DuplicateAnswersTheLink,
        ("test_repeated_lead_answers_link_null",),
        LEAD,
    ),
    Variant(
        "dedup-key-case-sensitive",
        DedupKeyCaseSensitive,
        ("test_dedup_key_ignores_case_and_spaces",),
        LEAD,
    ),
    Variant(
        "deferred-records-the-lead",
        DeferredRecordsTheLead,
        ("test_deferred_lead_creates_the_customer_without_a_lead",),
        LEAD,
    ),
    Variant(
        "deferred-takes-the-key",
        DeferredTakesTheKey,
        ("test_deferred_lead_is_recorded_by_a_later_request",),
        LEAD,
    ),
    Variant(
        "event-quantity-ignored",
        EventQuantityIgnored,
        ("test_lead_records_event_quantity_on_the_clicks_link",),
        LEAD,
    ),
    Variant(
        "link-leads-not-counted",
        LinkLeadsNotCounted,
        ("test_lead_records_event_quantity_on_the_clicks_link",),
        LEAD,
    ),
    Variant(
        "lead-disabled-says-sale",
        LeadDisabledSaysSale,
        ("test_lead_click_on_disabled_link_is_404",),
        LEAD,
    ),
    Variant(
        "foreign-click-accepted",
        ForeignClickAccepted,
        ("test_lead_click_of_another_workspace_is_404",),
        LEAD,
    ),
    Variant(
        "lead-answers-the-request-customer",
        LeadAnswersTheRequestCustomer,
        ("test_existing_customer_is_not_updated",),
        LEAD,
    ),
    Variant(
        "missing-click-is-404",
        MissingClickIs404,
        ("test_lead_without_click_for_unknown_customer_is_400",),
        LEAD,
    ),
    Variant(
        "leads-off-the-budget",
        LeadsOffTheBudget,
        ("test_lead_and_sale_share_one_rate_limit_window",),
        LEAD,
    ),
    # §5 clicks
    Variant(
        "click-dedup-ignored",
        ClickDedupIgnored,
        (
            "test_same_visitor_gets_the_same_click",
            "test_concurrent_clicks_of_one_visitor_record_one",
        ),
        CLICK,
    ),
    Variant(
        "click-dedup-ignores-user-agent",
        ClickDedupIgnoresUserAgent,
        ("test_same_visitor_gets_the_same_click",),
        CLICK,
    ),
    Variant(
        "no-track-ignored",
        NoTrackIgnored,
        ("test_no_track_answers_an_id_and_records_nothing",),
        CLICK,
    ),
    Variant(
        "click-id-of-wrong-length",
        ClickIdOfWrongLength,
        ("test_spec_conformance_click", "test_new_click_is_usable_by_a_lead"),
        CLICK,
    ),
    Variant("click-needs-a-key", ClickNeedsAKey, ("test_click_needs_no_key",), CLICK),
    Variant(
        "click-domain-not-normalised",
        ClickDomainNotNormalised,
        ("test_click_domain_is_normalised",),
        CLICK,
    ),
    Variant(
        "allowed-hostnames-ignored",
        AllowedHostnamesIgnored,
        ("test_other_hostname_is_403",),
        CLICK,
    ),
    Variant(
        "wildcard-matches-the-apex",
        WildcardMatchesTheApex,
        ("test_other_hostname_is_403",),
        CLICK,
    ),
    Variant(
        "www-kept-in-hostnames", WwwKeptInHostnames, ("test_allowed_hostname_may_click",), CLICK
    ),
    Variant(
        "cors-only-on-success",
        CorsOnlyOnSuccess,
        (
            "test_every_click_answer_has_cors_and_no_rate_limit",
            "test_missing_publishable_key_is_401",
        ),
        CLICK + CLIENT,
    ),
    Variant(
        "browser-options-405",
        BrowserOptions405,
        ("test_click_options_is_204_with_cors", "test_client_options_is_204_with_cors"),
        CLICK + CLIENT,
    ),
    # §6 publishable keys
    Variant(
        "publishable-key-on-secret-routes",
        PublishableKeyOnSecretRoutes,
        ("test_publishable_key_on_a_secret_route_is_401",),
        CLIENT,
    ),
    Variant(
        "secret-token-on-client-routes",
        SecretTokenOnClientRoutes,
        ("test_malformed_publishable_key_is_400",),
        CLIENT,
    ),
    Variant(
        "publishable-prefix-checked-late",
        PublishablePrefixCheckedLate,
        ("test_malformed_publishable_key_is_400",),
        CLIENT,
    ),
    Variant(
        "unknown-key-before-rate-limit",
        UnknownKeyBeforeRateLimit,
        ("test_unknown_publishable_key_is_401_after_the_rate_limit",),
        CLIENT,
    ),
    Variant(
        "client-plan-unchecked",
        ClientPlanUnchecked,
        ("test_publishable_key_of_a_lower_plan_is_403",),
        CLIENT,
    ),
    Variant(
        "client-aliases-accepted",
        ClientAliasesAccepted,
        ("test_client_routes_read_customer_external_id_strictly",),
        CLIENT,
    ),
    Variant(
        "hostnames-before-the-body",
        HostnamesBeforeTheBody,
        ("test_hostnames_are_checked_after_the_body",),
        CLIENT,
    ),
    # value rules, caught by their decisive cases
    Variant(
        "half-to-even-rounding", HalfToEvenRounding, ("test_conversion_rounds_exact_ties_half_up",)
    ),
    # §7 webhooks, caught by the checks that receive them
    Variant(
        "signature-without-prefix",
        SignatureWithoutPrefix,
        ("test_a_recorded_sale_sends_a_signed_sale_created_and_a_replay_sends_none",),
        WEBHOOKS,
    ),
    Variant(
        "every-event-twice",
        EveryEventTwice,
        ("test_a_recorded_sale_sends_a_signed_sale_created_and_a_replay_sends_none",),
        WEBHOOKS,
    ),
    Variant(
        "metadata-left-out",
        MetadataLeftOut,
        ("test_a_recorded_lead_sends_lead_created_and_a_duplicate_sends_none",),
        WEBHOOKS,
    ),
    Variant(
        "retry-with-a-new-id",
        RetryWithANewId,
        ("test_a_failed_delivery_is_retried_with_the_same_id_and_bytes",),
        WEBHOOKS,
    ),
)
