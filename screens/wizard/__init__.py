"""The wizard *Création d'un utilisateur technique* / *Ajout d'un canal* and its steps."""
