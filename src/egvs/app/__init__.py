"""The web app (`egvs demo`): a Gradio page over the same public API as the CLI.

Needs the optional `demo` extra (gradio). `egvs.app.jobs` holds the work and imports no Gradio;
`egvs.app.ui` is the page.
"""
