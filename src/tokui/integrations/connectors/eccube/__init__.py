"""EC-CUBE 4: sync through the EC-CUBE4 Web API plugin (GraphQL, OAuth 2.0), paged and paced."""
