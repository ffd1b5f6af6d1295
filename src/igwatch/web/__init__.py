"""The clinician web pages: worklist, patient page, summaries, knowledge pages (one router)."""
