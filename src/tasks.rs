//! Helpers of the pipeline's procedures (sql/pipeline/tasks.sql).

use crate::pg_function;
use pgrx::pg_sys;

// topk._in_transaction_block(): whether the caller is inside an explicit transaction
// block (BEGIN … COMMIT), where the pipeline's procedures cannot commit their tasks.
pg_function!(fn topk_in_transaction_block(fcinfo) sql["() -> boolean"] {
    let _ = fcinfo;
    pg_sys::Datum::from(pg_sys::IsTransactionBlock())
});
