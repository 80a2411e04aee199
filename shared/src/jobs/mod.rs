//! Adapters for the asynchronous triggers: SQS batches for the worker, the EventBridge schedule
//! for the scheduler. They decode the event, call the services and report.

pub mod schedule;
pub mod worker;
