//! Writes that meet a DynamoDB transaction in progress are sent again.
//!
//! When two requests touch the same item while one of them is a transaction, DynamoDB refuses
//! the other without applying it: a single write fails with `TransactionConflictException`, and
//! a transaction is cancelled with the reason `TransactionConflict` on the contested item. The
//! SDK's standard classifiers retry neither, so fifty identical starts arriving together would
//! turn some into system errors. Nothing was written, so sending the same conditional write
//! again is safe; it then either succeeds or fails its condition, and the caller re-reads and
//! decides as for any lost race. The SDK's retry strategy supplies the attempts and the
//! jittered backoff (for DynamoDB: four attempts from 25 ms).

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_smithy_runtime_api::client::interceptors::context::{Error, InterceptorContext};
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority,
};

/// Whether a transaction was cancelled only because another transaction held one of its items:
/// at least one reason is `TransactionConflict` and no condition failed.
pub fn cancelled_by_conflict(reasons: &[CancellationReason]) -> bool {
    let codes = || reasons.iter().filter_map(|r| r.code());
    codes().any(|c| c == "TransactionConflict")
        && codes().all(|c| c == "TransactionConflict" || c == "None")
}

/// Whether DynamoDB refused a write because a transaction in progress held its item.
fn is_conflict(err: &Error) -> bool {
    if let Some(e) = err.downcast_ref::<TransactWriteItemsError>() {
        return match e {
            TransactWriteItemsError::TransactionCanceledException(c) => {
                cancelled_by_conflict(c.cancellation_reasons())
            }
            other => other.code() == Some("TransactionConflictException"),
        };
    }
    let code = err
        .downcast_ref::<PutItemError>()
        .and_then(|e| e.code())
        .or_else(|| err.downcast_ref::<UpdateItemError>().and_then(|e| e.code()))
        .or_else(|| err.downcast_ref::<DeleteItemError>().and_then(|e| e.code()));
    code == Some("TransactionConflictException")
}

/// The retry classifier every [`super::Store`] installs on its DynamoDB client.
#[derive(Debug, Default, Clone, Copy)]
pub struct RetryTransactionConflicts;

impl ClassifyRetry for RetryTransactionConflicts {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            Some(Err(e)) if e.as_operation_error().is_some_and(is_conflict) => {
                RetryAction::transient_error()
            }
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "DynamoDB transaction conflict"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(
            RetryClassifierPriority::modeled_as_retryable_classifier(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, TransactionCanceledException, TransactionConflictException,
    };
    use aws_smithy_runtime_api::client::interceptors::context::Input;
    use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
    use aws_smithy_types::error::ErrorMetadata;

    fn reason(code: &str) -> CancellationReason {
        CancellationReason::builder().code(code).build()
    }

    fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
        let mut b = TransactionCanceledException::builder().meta(
            ErrorMetadata::builder()
                .code("TransactionCanceledException")
                .build(),
        );
        for c in codes {
            b = b.cancellation_reasons(reason(c));
        }
        TransactWriteItemsError::TransactionCanceledException(b.build())
    }

    fn classify<E>(err: E) -> RetryAction
    where
        E: std::error::Error + Send + Sync + std::fmt::Debug + 'static,
    {
        let mut ctx = InterceptorContext::new(Input::erase(()));
        ctx.set_output_or_error(Err(OrchestratorError::operation(Error::erase(err))));
        RetryTransactionConflicts.classify_retry(&ctx)
    }

    #[test]
    fn a_transaction_cancelled_by_a_conflict_is_sent_again() {
        assert_eq!(
            classify(cancelled(&["None", "TransactionConflict", "None"])),
            RetryAction::transient_error()
        );
    }

    #[test]
    fn a_failed_condition_is_a_lost_race_not_a_retry() {
        for codes in [
            &["ConditionalCheckFailed", "None"][..],
            &["ConditionalCheckFailed", "TransactionConflict"][..],
            &["None", "ValidationError"][..],
            &[][..],
        ] {
            assert_eq!(
                classify(cancelled(codes)),
                RetryAction::NoActionIndicated,
                "{codes:?}"
            );
        }
    }

    #[test]
    fn a_single_write_meeting_a_transaction_is_sent_again() {
        let conflict = || {
            TransactionConflictException::builder()
                .meta(
                    ErrorMetadata::builder()
                        .code("TransactionConflictException")
                        .build(),
                )
                .build()
        };
        assert_eq!(
            classify(PutItemError::TransactionConflictException(conflict())),
            RetryAction::transient_error()
        );
        assert_eq!(
            classify(UpdateItemError::TransactionConflictException(conflict())),
            RetryAction::transient_error()
        );
        assert_eq!(
            classify(DeleteItemError::TransactionConflictException(conflict())),
            RetryAction::transient_error()
        );
        let failed = ConditionalCheckFailedException::builder()
            .meta(
                ErrorMetadata::builder()
                    .code("ConditionalCheckFailedException")
                    .build(),
            )
            .build();
        assert_eq!(
            classify(PutItemError::ConditionalCheckFailedException(failed)),
            RetryAction::NoActionIndicated
        );
    }

    #[test]
    fn every_store_client_carries_the_classifier() {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        let store = crate::store::Store::new(aws_sdk_dynamodb::Client::from_conf(conf), "t");
        let names: Vec<&str> = store
            .db
            .config()
            .retry_classifiers()
            .map(|c| c.name())
            .collect();
        assert!(
            names.contains(&RetryTransactionConflicts.name()),
            "{names:?}"
        );
    }
}
