"""WeCom (企业微信) intelligent robot (智能机器人, API mode): envelope, rendering, routes (:mod:`.channel`)."""
