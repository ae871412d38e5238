"""Execution: the planned calls sent to the providers with bounded concurrency and retries (`runner`), and
every answer kept in the response cache as it arrives (`cache`), so a re-run makes no call and an interrupted
run resumes."""
