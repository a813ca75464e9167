"""Deliberately broken implementations of POST /track/sale, each with one realistic fault.

Every variant wraps the faithful mock and changes what one rule needs changed, the way a real
implementation might get it wrong. `breaks` names the contract checks (test names) of which at
least one must fail against it: the proof that `dub-mock check` catches the fault and names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from .middleware import Rewriter

if TYPE_CHECKING:
    from mockserver.app import MockApp


@dataclass(frozen=True)
class Variant:
    """A named broken implementation and the checks that must catch it."""

    name: str
    build: Callable[[MockApp], Rewriter]
    breaks: tuple[str, ...]

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
)
