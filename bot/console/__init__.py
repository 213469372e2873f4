"""The web console for coordinators (issue 15): server-rendered pages in the service's
Starlette app under /console, reached with a one-time link the bot gives in the chat."""
