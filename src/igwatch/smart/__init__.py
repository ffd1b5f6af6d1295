"""igwatch inside the EHR: the SMART on FHIR app launch (``routes``), the EHR registrations it
trusts (``registrations``) and the launches under way (``launches``). The OAuth 2 / OpenID
Connect steps it shares with the web app's single sign-on are in :mod:`igwatch.oauth`."""
