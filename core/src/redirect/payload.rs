//! The decrypted redirect payload: a UTF-8 JSON object.

use alloc::string::String;

use serde_json::{Map, Value};

use super::OpenError;

/// Outcome of the payment, as the hosted page reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaymentStatus {
    /// Paid.
    Completed,
    /// Refused or errored.
    Failed,
    /// The customer gave up.
    Cancelled,
    /// Not settled yet.
    Pending,
}

impl PaymentStatus {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "cancelled" => Some(Self::Cancelled),
            "pending" => Some(Self::Pending),
            _ => None,
        }
    }

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Pending => "pending",
        }
    }
}

/// An amount in minor units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Amount {
    /// Minor units (cents).
    pub value: i64,
    /// ISO 4217 code as sent.
    pub currency: String,
}

/// An opened redirect payload: typed views of the known fields, and every
/// field as received (unknown ones included) in `fields`.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct RedirectData {
    /// The provider's session id.
    pub session_id: String,
    /// Payment outcome.
    pub status: PaymentStatus,
    /// Provider payment reference.
    pub payment_reference: Option<String>,
    /// Amount paid.
    pub amount: Option<Amount>,
    /// The merchant's order id.
    pub order_id: Option<String>,
    /// Issued at, unix seconds.
    pub iat: Option<u64>,
    /// Expires at, unix seconds.
    pub exp: Option<u64>,
    /// The whole object as decrypted, unknown fields included.
    pub fields: Map<String, Value>,
}

impl RedirectData {
    pub(super) fn parse(plaintext: &[u8]) -> Result<Self, OpenError> {
        let invalid = OpenError::InvalidPayload;
        let text = core::str::from_utf8(plaintext).map_err(|_| invalid("not UTF-8"))?;
        let Value::Object(fields) = serde_json::from_str(text).map_err(|_| invalid("not JSON"))? else {
            return Err(invalid("not a JSON object"));
        };
        let string = |name: &str, why: &'static str| -> Result<Option<String>, OpenError> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid(why)),
            }
        };
        let seconds = |name: &str, why: &'static str| -> Result<Option<u64>, OpenError> {
            match fields.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_u64().map(Some).ok_or(invalid(why)),
            }
        };
        let session_id = string("sessionId", "sessionId is not a string")?
            .ok_or(invalid("sessionId is missing"))?;
        let status = string("status", "status is not a string")?.ok_or(invalid("status is missing"))?;
        let status = PaymentStatus::from_name(&status).ok_or(invalid("status is not a known value"))?;
        let amount = match fields.get("amount") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => Some(Amount {
                value: a.get("value").and_then(Value::as_i64).ok_or(invalid("amount.value is not an integer"))?,
                currency: a
                    .get("currency")
                    .and_then(Value::as_str)
                    .map(String::from)
                    .ok_or(invalid("amount.currency is not a string"))?,
            }),
            Some(_) => return Err(invalid("amount is not an object")),
        };
        Ok(Self {
            session_id,
            status,
            payment_reference: string("paymentReference", "paymentReference is not a string")?,
            amount,
            order_id: string("orderId", "orderId is not a string")?,
            iat: seconds("iat", "iat is not unix seconds")?,
            exp: seconds("exp", "exp is not unix seconds")?,
            fields,
        })
    }
}
