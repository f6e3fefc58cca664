"""The LPO API: transport-neutral request handling shared by the HTTP and UDP front-ends."""
