"""WhatsApp through Twilio: one small module per concern.

- ``channel``: the channel itself (webhooks in, ``deliver`` out, the 24-hour window);
- ``render``: Twilio's fields → events, messages → what to send (pure);
- ``templates``: the approved templates file (``MEEDOEN_WHATSAPP_TEMPLATES``);
- ``errors``: Twilio's error codes → the outbox's delivery outcomes;
- ``store``: its few reads and writes in the database.
"""
