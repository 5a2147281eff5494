# Phony's image: one image, three roles (phony edge | worker | projector | serve).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY phony ./phony
RUN pip install --no-cache-dir .
ENV PHONY_HOST=0.0.0.0
EXPOSE 24187
ENTRYPOINT ["phony"]
CMD ["serve"]
