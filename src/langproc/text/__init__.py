"""Plain text rules shared by the steps and the providers: normalising a page's text, splitting it
into chunks, and modern orthography. Nothing here imports the rest of langproc."""
